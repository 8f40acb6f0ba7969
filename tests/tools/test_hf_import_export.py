# Copyright 2026 The token_drop Authors. All Rights Reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Tests for token_drop.tools.import_hf / export_hf on synthetic BERT weights.

The imported encoder is checked against a plain-numpy BERT forward pass
(token_drop/testing/hf_reference.py) and the export against the original
tensors.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors import numpy as safetensors_numpy
import tensorflow as tf

from token_drop.testing import hf_reference
from token_drop.tools import bert_weights
from token_drop.tools import export_hf
from token_drop.tools import import_hf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

TINY = {
    'architectures': ['BertForMaskedLM'], 'model_type': 'bert',
    'vocab_size': 40, 'hidden_size': 16, 'num_hidden_layers': 2,
    'num_attention_heads': 4, 'intermediate_size': 24, 'hidden_act': 'gelu',
    'hidden_dropout_prob': 0.1, 'attention_probs_dropout_prob': 0.1,
    'max_position_embeddings': 12, 'type_vocab_size': 2,
    'initializer_range': 0.02, 'layer_norm_eps': 1e-12,
    'position_embedding_type': 'absolute',
}


def write_hf_dir(path, config, tensors):
  os.makedirs(path, exist_ok=True)
  with open(os.path.join(path, 'config.json'), 'w') as f:
    json.dump(config, f)
  safetensors_numpy.save_file(tensors,
                              os.path.join(path, 'model.safetensors'))
  with open(os.path.join(path, 'vocab.txt'), 'w') as f:
    f.write('\n'.join(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] +
                      [f'w{i}' for i in range(config['vocab_size'] - 5)]))
    f.write('\n')
  return path


def encoder_outputs(encoder, ids, types, mask):
  out = encoder(dict(input_word_ids=tf.constant(ids, tf.int32),
                     input_type_ids=tf.constant(types, tf.int32),
                     input_mask=tf.constant(mask, tf.int32)))
  return out['sequence_output'].numpy(), out['pooled_output'].numpy()


def restored(out_dir, config_yaml=None):
  config = export_hf.load_encoder_config(
      config_yaml or os.path.join(out_dir, 'encoder.yaml'))
  return export_hf.restore(export_hf.resolve_checkpoint(out_dir), config)


def batch(vocab_size, seq, seed=0):
  rng = np.random.default_rng(seed)
  ids = rng.integers(5, vocab_size, (2, seq))
  types = np.zeros_like(ids)
  types[:, seq // 2:] = 1
  mask = np.ones_like(ids)
  mask[1, seq - 3:] = 0  # The second row is padded.
  return ids, types, mask


@pytest.mark.parametrize('act', ['gelu', 'gelu_new', 'relu'])
def test_import_matches_numpy_reference(tmp_path, act):
  config = dict(TINY, hidden_act=act)
  tensors = hf_reference.random_bert(config)
  hf_dir = write_hf_dir(str(tmp_path / 'hf'), config, tensors)
  summary = import_hf.import_checkpoint(hf_dir, str(tmp_path / 'out'))
  assert summary['has_mlm_head'] and summary['has_pooler']
  encoder, masked_lm = restored(str(tmp_path / 'out'))
  assert masked_lm is not None

  ids, types, mask = batch(config['vocab_size'], 10)
  seq_out, pooled = encoder_outputs(encoder, ids, types, mask)
  ref_seq, ref_pooled = hf_reference.bert_forward(tensors, config, ids, types,
                                                  mask, prefix='bert.')
  valid = mask.astype(bool)
  np.testing.assert_allclose(seq_out[valid], ref_seq[valid], atol=1e-4)
  np.testing.assert_allclose(pooled, ref_pooled, atol=1e-4)

  positions = np.array([[1, 4], [0, 6]])
  logits = masked_lm(tf.constant(seq_out, tf.float32),
                     masked_positions=tf.constant(positions, tf.int32))
  ref_logits = hf_reference.mlm_logits(
      tensors, config, np.take_along_axis(ref_seq, positions[..., None], 1))
  np.testing.assert_allclose(logits.numpy(), ref_logits, atol=1e-3, rtol=1e-4)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_export_then_import_round_trip(tmp_path):
  tensors = hf_reference.random_bert(TINY, seed=3)
  hf_dir = write_hf_dir(str(tmp_path / 'hf'), TINY, tensors)
  import_hf.import_checkpoint(hf_dir, str(tmp_path / 'tf1'))
  summary = export_hf.export_checkpoint(str(tmp_path / 'tf1'),
                                        str(tmp_path / 'hf2'))
  assert summary['has_mlm_head']
  exported = safetensors_numpy.load_file(
      str(tmp_path / 'hf2' / 'model.safetensors'))
  assert set(exported) == set(tensors)
  for name, value in tensors.items():
    np.testing.assert_array_equal(exported[name], value, err_msg=name)
  with open(tmp_path / 'hf2' / 'config.json') as f:
    config = json.load(f)
  for key in ('vocab_size', 'hidden_size', 'num_hidden_layers',
              'num_attention_heads', 'intermediate_size', 'hidden_act',
              'max_position_embeddings', 'type_vocab_size'):
    assert config[key] == TINY[key], key
  assert config['architectures'] == ['BertForMaskedLM']

  import_hf.import_checkpoint(str(tmp_path / 'hf2'), str(tmp_path / 'tf2'))
  first = tf.train.load_checkpoint(str(tmp_path / 'tf1' / 'ckpt-1'))
  second = tf.train.load_checkpoint(str(tmp_path / 'tf2' / 'ckpt-1'))
  names = [n for n, _ in tf.train.list_variables(str(tmp_path / 'tf1'))
           if n.endswith('VARIABLE_VALUE') and 'save_counter' not in n]
  assert len(names) > 30
  for name in names:
    np.testing.assert_array_equal(first.get_tensor(name),
                                  second.get_tensor(name), err_msg=name)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_import_bertmodel_without_prefix_or_head(tmp_path):
  config = dict(TINY, architectures=['BertModel'])
  tensors = hf_reference.random_bert(config, prefix='', with_mlm=False)
  # TF1-era names for one norm: LayerNorm.gamma / beta.
  tensors['embeddings.LayerNorm.gamma'] = tensors.pop(
      'embeddings.LayerNorm.weight')
  tensors['embeddings.LayerNorm.beta'] = tensors.pop(
      'embeddings.LayerNorm.bias')
  hf_dir = write_hf_dir(str(tmp_path / 'hf'), config, tensors)
  summary = import_hf.import_checkpoint(hf_dir, str(tmp_path / 'out'))
  assert not summary['has_mlm_head']
  encoder, masked_lm = restored(str(tmp_path / 'out'))
  assert masked_lm is None
  np.testing.assert_array_equal(
      encoder.get_embedding_table().numpy(),
      tensors['embeddings.word_embeddings.weight'])
  export_hf.export_checkpoint(str(tmp_path / 'out'), str(tmp_path / 'hf2'))
  exported = safetensors_numpy.load_file(
      str(tmp_path / 'hf2' / 'model.safetensors'))
  np.testing.assert_array_equal(exported['embeddings.LayerNorm.weight'],
                                tensors['embeddings.LayerNorm.gamma'])


@pytest.mark.parametrize('change, message', [
    ({'hidden_act': 'silu'}, "hidden_act='silu' is not supported"),
    ({'position_embedding_type': 'relative_key'},
     "position_embedding_type='relative_key' is not supported"),
    ({'model_type': 'roberta', 'architectures': ['RobertaModel']},
     "model_type='roberta'"),
    ({'layer_norm_eps': 1e-5}, 'layer_norm_eps=1e-05 is not supported'),
])
def test_import_rejects_unsupported_config(tmp_path, change, message):
  config = dict(TINY, **change)
  hf_dir = write_hf_dir(str(tmp_path / 'hf'), config,
                        hf_reference.random_bert(TINY))
  with pytest.raises(bert_weights.WeightMappingError, match=message):
    import_hf.import_checkpoint(hf_dir, str(tmp_path / 'out'))


def test_import_names_missing_and_misshaped_tensor(tmp_path):
  tensors = hf_reference.random_bert(TINY)
  del tensors['bert.encoder.layer.1.attention.self.key.bias']
  hf_dir = write_hf_dir(str(tmp_path / 'hf'), TINY, tensors)
  with pytest.raises(bert_weights.WeightMappingError,
                     match=r"missing tensor 'encoder\.layer\.1\.attention\."
                     r"self\.key\.bias'"):
    import_hf.import_checkpoint(hf_dir, str(tmp_path / 'out'))

  config = dict(TINY, intermediate_size=32)
  hf_dir = write_hf_dir(str(tmp_path / 'hf2'), config,
                        hf_reference.random_bert(TINY))
  with pytest.raises(bert_weights.WeightMappingError,
                     match=r"'encoder\.layer\.0\.intermediate\.dense\.weight' "
                     r'has shape \(24, 16\)'):
    import_hf.import_checkpoint(hf_dir, str(tmp_path / 'out2'))


def test_export_errors(tmp_path):
  hf_dir = write_hf_dir(str(tmp_path / 'hf'), TINY,
                        hf_reference.random_bert(TINY))
  import_hf.import_checkpoint(hf_dir, str(tmp_path / 'out'))
  bad = tmp_path / 'bad.yaml'
  bad.write_text((tmp_path / 'out' / 'encoder.yaml').read_text().replace(
      'num_layers: 2', 'num_layers: 3'))
  with pytest.raises(bert_weights.WeightMappingError,
                     match='do not fit the encoder config'):
    export_hf.export_checkpoint(str(tmp_path / 'out'), str(tmp_path / 'x'),
                                encoder_config=str(bad))

  other = tf.train.Checkpoint(model=tf.Module())
  other.model.v = tf.Variable(1.0)
  prefix = other.write(str(tmp_path / 'other' / 'ckpt'))
  with pytest.raises(bert_weights.WeightMappingError,
                     match=r'no `encoder` item \(root items: \[\'model\'\]'):
    export_hf.export_checkpoint(prefix, str(tmp_path / 'y'),
                                encoder_config=str(tmp_path / 'out' /
                                                   'encoder.yaml'))


@pytest.mark.slow
def test_cli_round_trip_and_error(tmp_path):
  """Both command lines, one subprocess each (the import one fails cleanly)."""
  hf_dir = write_hf_dir(str(tmp_path / 'hf'), TINY,
                        hf_reference.random_bert(TINY))
  import_hf.import_checkpoint(hf_dir, str(tmp_path / 'tf'))
  result = subprocess.run(
      [sys.executable, '-m', 'token_drop.tools.export_hf',
       f'--checkpoint={tmp_path / "tf"}', f'--output_dir={tmp_path / "hf2"}'],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "architectures=['BertForMaskedLM']" in result.stdout
  assert (tmp_path / 'hf2' / 'model.safetensors').exists()

  config = dict(TINY, hidden_act='swish')
  bad_dir = write_hf_dir(str(tmp_path / 'bad'), config,
                         hf_reference.random_bert(TINY))
  result = subprocess.run(
      [sys.executable, '-m', 'token_drop.tools.import_hf',
       f'--hf_dir={bad_dir}', f'--output_dir={tmp_path / "out"}'],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode != 0
  assert "hidden_act='swish' is not supported" in result.stderr


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_export_can_take_the_pooler_of_the_nsp_head(tmp_path):
  hf_dir = write_hf_dir(str(tmp_path / 'hf'), TINY,
                        hf_reference.random_bert(TINY))
  import_hf.import_checkpoint(hf_dir, str(tmp_path / 'tf'))
  config = export_hf.load_encoder_config(str(tmp_path / 'tf' /
                                             'encoder.yaml'))
  encoder, _ = restored(str(tmp_path / 'tf'))
  head = bert_weights.copy_dense(encoder.pooler_layer)
  head.kernel.assign(head.kernel * 2.0)  # A pooler trained by NSP.
  prefix = tf.train.Checkpoint(**{
      'encoder': encoder, 'next_sentence.pooler_dense': head}).write(
          str(tmp_path / 'nsp' / 'ckpt'))
  yaml_path = str(tmp_path / 'tf' / 'encoder.yaml')
  for copy, factor in ((False, 1.0), (True, 2.0)):
    out = tmp_path / f'hf_{copy}'
    export_hf.export_checkpoint(prefix, str(out), encoder_config=yaml_path,
                                vocab_file=str(tmp_path / 'hf' / 'vocab.txt'),
                                copy_pooler_dense_to_encoder=copy)
    pooler = safetensors_numpy.load_file(str(out / 'model.safetensors'))[
        'pooler.dense.weight']
    np.testing.assert_allclose(
        pooler, factor * encoder.pooler_layer.kernel.numpy().T, rtol=1e-6)
  assert config.hidden_size == TINY['hidden_size']
