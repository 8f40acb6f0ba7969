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

"""NarrowBertEncoder: BERT equivalence, independent reference, checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

from official.nlp.configs import encoders
from official.nlp.modeling import layers
from official.nlp.modeling import networks
from token_drop.encoders import narrow_bert
from token_drop.encoders import token_drop_bert

VOCAB = 50
SEQ = 12
BATCH = 3
SIZES = dict(hidden_size=32, num_layers=4, num_attention_heads=2,
             inner_dim=64, max_sequence_length=SEQ, type_vocab_size=2,
             output_dropout=0.0, attention_dropout=0.0,
             inner_activation='gelu')
LENGTHS = (SEQ, 9, 6)


def _inputs(seed=0):
  rng = np.random.RandomState(seed)
  ids = rng.randint(2, VOCAB, size=(BATCH, SEQ)).astype(np.int32)
  mask = np.zeros((BATCH, SEQ), np.int32)
  for b, length in enumerate(LENGTHS):
    mask[b, :length] = 1
    ids[b, length:] = 0
  types = np.zeros((BATCH, SEQ), np.int32)
  types[:, SEQ // 2:] = 1
  # Narrow positions inside each sequence, with a duplicate and a padding
  # slot at 0 (as MLM inputs pad masked_lm_positions).
  positions = np.stack([
      np.concatenate([np.sort(rng.choice(np.arange(1, length), 3, False)),
                      [1, 0]]) for length in LENGTHS]).astype(np.int32)
  positions[:, 3] = positions[:, 0]
  return dict(input_word_ids=tf.constant(ids), input_mask=tf.constant(mask),
              input_type_ids=tf.constant(types),
              narrow_positions=tf.constant(positions))


def _pair(tmp_path, **kwargs):
  """A BertEncoderV2 and a NarrowBertEncoder holding the same weights."""
  bert = networks.BertEncoderV2(vocab_size=VOCAB, **SIZES)
  narrow = narrow_bert.NarrowBertEncoder(vocab_size=VOCAB, **SIZES, **kwargs)
  inputs = _inputs()
  bert(inputs)
  narrow(inputs)
  path = tf.train.Checkpoint(encoder=bert).write(str(tmp_path / 'bert'))
  tf.train.Checkpoint(encoder=narrow).read(path).assert_consumed()
  return bert, narrow


def test_same_variables_and_checkpoint_keys_as_bert_encoder_v2(tmp_path):
  bert, narrow = _pair(tmp_path)
  names = lambda enc: sorted((v.name.split('/', 1)[1], tuple(v.shape))
                             for v in enc.variables)
  assert names(narrow) == names(bert)
  keys = lambda p: sorted(tf.train.list_variables(p))
  assert keys(tf.train.Checkpoint(encoder=bert).write(
      str(tmp_path / 'b'))) == keys(tf.train.Checkpoint(
          encoder=narrow).write(str(tmp_path / 'n')))


@pytest.mark.parametrize('mode', narrow_bert.NARROW_MODES)
def test_all_full_length_layers_equal_bert_encoder_v2(tmp_path, mode):
  bert, narrow = _pair(tmp_path, full_length_layers=4, narrow_mode=mode)
  inputs = _inputs(seed=1)
  want = bert(inputs)
  got = narrow(inputs)
  assert 'narrow_output' not in got
  for key in ('sequence_output', 'pooled_output'):
    assert np.abs(got[key] - want[key]).max() < 1e-5
  for g, w in zip(got['encoder_outputs'], want['encoder_outputs']):
    assert np.abs(g - w).max() < 1e-5


# An independent implementation of the definition from the raw weights.


def _ln(x, norm):
  gamma, beta = norm.gamma.numpy(), norm.beta.numpy()
  mean = x.mean(-1, keepdims=True)
  var = ((x - mean) ** 2).mean(-1, keepdims=True)
  return (x - mean) / np.sqrt(var + 1e-12) * gamma + beta


def _dense(x, dense):
  return np.tensordot(x, dense.kernel.numpy(), axes=1) + dense.bias.numpy()


def _attention(block, queries, keys):
  """Multi-head attention of queries [n, h] over unpadded keys [m, h]."""
  mha = block._attention_layer  # pylint: disable=protected-access
  q = _dense(queries, mha._query_dense)  # [n, heads, d]
  k = _dense(keys, mha._key_dense)
  v = _dense(keys, mha._value_dense)
  scores = np.einsum('nhd,mhd->hnm', q, k) / np.sqrt(q.shape[-1])
  scores -= scores.max(-1, keepdims=True)
  probs = np.exp(scores)
  probs /= probs.sum(-1, keepdims=True)
  context = np.einsum('hnm,mhd->nhd', probs, v)
  out = mha._output_dense  # pylint: disable=protected-access
  return np.einsum('nhd,hdo->no', context, out.kernel.numpy()) + (
      out.bias.numpy())


def _attention_half(block, queries, keys):
  return _ln(queries + _attention(block, queries, keys),
             block._attention_layer_norm)  # pylint: disable=protected-access


def _ffn_half(block, x):
  # pylint: disable=protected-access
  inner = tf.nn.gelu(_dense(x, block._intermediate_dense),
                     approximate=False).numpy()
  return _ln(x + _dense(inner, block._output_dense), block._output_layer_norm)


def _reference(encoder, inputs, mode):
  """Per sequence: (narrow outputs [n, h], full-length states [len, h])."""
  ids = inputs['input_word_ids'].numpy()
  types = inputs['input_type_ids'].numpy()
  positions = inputs['narrow_positions'].numpy()
  # pylint: disable=protected-access
  word = encoder._embedding_layer.embeddings.numpy()
  pos = encoder._position_embedding_layer._position_embeddings.numpy()
  typ = encoder._type_embedding_layer.embeddings.numpy()
  layers = encoder.transformer_layers
  full = encoder.full_length_layers
  results = []
  for b, length in enumerate(LENGTHS):
    x = _ln(word[ids[b, :length]] + pos[:length] + typ[types[b, :length]],
            encoder._embedding_norm_layer)
    for block in layers[:full]:
      x = _ffn_half(block, _attention_half(block, x, x))
    narrow = []
    if mode == 'sparse_queries':
      for p in positions[b]:
        q = x[p:p + 1]
        for block in layers[full:]:
          q = _ffn_half(block, _attention_half(block, q, x))
        narrow.append(q[0])
    else:
      for block in layers[full:]:
        x = _attention_half(block, x, x)
      for p in positions[b]:
        q = x[p]
        for block in layers[full:]:
          q = _ffn_half(block, q)
        narrow.append(q)
    results.append((np.stack(narrow), x))
  return results


@pytest.mark.parametrize('mode,full', [('sparse_queries', 2),
                                       ('sparse_queries', 1),
                                       ('context_first', 2)])
def test_narrow_positions_match_independent_reference(tmp_path, mode, full):
  _, narrow = _pair(tmp_path, full_length_layers=full, narrow_mode=mode)
  inputs = _inputs(seed=2)
  out = narrow(inputs)
  positions = inputs['narrow_positions'].numpy()
  assert out['narrow_output'].shape == (BATCH, positions.shape[1], 32)
  for b, (want_narrow, want_rest) in enumerate(_reference(narrow, inputs,
                                                          mode)):
    np.testing.assert_allclose(out['narrow_output'][b], want_narrow,
                               atol=1e-4)
    seq = out['sequence_output'][b].numpy()
    np.testing.assert_allclose(seq[positions[b]], want_narrow, atol=1e-4)
    others = np.setdiff1d(np.arange(LENGTHS[b]), positions[b])
    np.testing.assert_allclose(seq[others], want_rest[others], atol=1e-4)
  # Narrow outputs differ from the full-length states they started from.
  assert np.abs(out['narrow_output'][0] -
                out['encoder_outputs'][full - 1].numpy()[0][positions[0]]
                ).max() > 1e-2


def test_default_narrow_position_is_cls(tmp_path):
  _, narrow = _pair(tmp_path)
  inputs = _inputs(seed=3)
  cls_only = dict(inputs, narrow_positions=tf.zeros([BATCH, 1], tf.int32))
  want = narrow(cls_only)
  del inputs['narrow_positions']
  got = narrow(inputs)
  np.testing.assert_allclose(got['pooled_output'], want['pooled_output'],
                             atol=1e-6)
  np.testing.assert_allclose(got['sequence_output'][:, 0],
                             want['narrow_output'][:, 0], atol=1e-6)


# An XLA compile takes seconds to minutes on a loaded 2-core CPU.
@pytest.mark.slow
def test_xla_matches_eager_at_the_cls_position(tmp_path):
  _, narrow = _pair(tmp_path)
  cls_only = dict(_inputs(seed=3),
                  narrow_positions=tf.zeros([BATCH, 1], tf.int32))
  want = narrow(cls_only)
  jitted = tf.function(lambda x: narrow(x)['narrow_output'],
                       jit_compile=True)(cls_only)
  np.testing.assert_allclose(jitted, want['narrow_output'], atol=1e-4)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_checkpoints_convert_both_ways(tmp_path):
  inputs = _inputs(seed=4)
  # Narrow -> BERT: the narrow model with all layers full length is BERT.
  narrow = narrow_bert.NarrowBertEncoder(vocab_size=VOCAB, **SIZES)
  narrow(inputs)
  path = tf.train.Checkpoint(encoder=narrow).write(str(tmp_path / 'n'))
  bert = networks.BertEncoderV2(vocab_size=VOCAB, **SIZES)
  bert(inputs)
  tf.train.Checkpoint(encoder=bert).read(path).assert_consumed()
  full = narrow_bert.NarrowBertEncoder(vocab_size=VOCAB,
                                       full_length_layers=4, **SIZES)
  full(inputs)
  tf.train.Checkpoint(encoder=full).read(path).assert_consumed()
  np.testing.assert_allclose(bert(inputs)['sequence_output'],
                             full(inputs)['sequence_output'], atol=1e-6)
  # Token-dropping checkpoint -> narrow.
  td = token_drop_bert.TokenDropBertEncoder(vocab_size=VOCAB, token_keep_k=4,
                                            **SIZES)
  td(inputs)
  td_path = tf.train.Checkpoint(encoder=td).write(str(tmp_path / 'td'))
  fresh = narrow_bert.NarrowBertEncoder(vocab_size=VOCAB, **SIZES)
  fresh(inputs)
  tf.train.Checkpoint(encoder=fresh).read(td_path).assert_consumed()
  for a, b in zip(fresh.variables, td.variables):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_config_builds_encoder_and_round_trips():
  config = encoders.EncoderConfig(
      type='any', any=narrow_bert.NarrowBertEncoderConfig(
          vocab_size=VOCAB, hidden_size=32, num_layers=3,
          num_attention_heads=2, intermediate_size=64, full_length_layers=1,
          narrow_mode='context_first'))
  encoder = encoders.build_encoder(config)
  assert isinstance(encoder, narrow_bert.NarrowBertEncoder)
  assert (encoder.full_length_layers, encoder.num_narrow_layers,
          encoder.narrow_mode) == (1, 2, 'context_first')
  clone = narrow_bert.NarrowBertEncoder.from_config(encoder.get_config())
  assert clone.get_config() == encoder.get_config()


@pytest.mark.parametrize('bad,match', [
    (dict(full_length_layers=0), 'full_length_layers=0'),
    (dict(full_length_layers=5), 'full_length_layers=5'),
    (dict(narrow_mode='sparse'), "narrow_mode='sparse'"),
    (dict(output_range=1), 'output_range'),
])
def test_bad_arguments_are_reported(bad, match):
  with pytest.raises(ValueError, match=match):
    narrow_bert.NarrowBertEncoder(vocab_size=VOCAB, **SIZES, **bad)


def test_context_first_rejects_blocks_it_cannot_split():
  narrow_bert.check_sublayer_support(layers.TransformerEncoderBlock(
      num_attention_heads=2, inner_dim=8, inner_activation='relu'))
  block = layers.TransformerEncoderBlock(
      num_attention_heads=2, inner_dim=8, inner_activation='relu',
      use_query_residual=False, linformer_dim=4)
  with pytest.raises(ValueError,
                     match=r"'use_query_residual': False, 'linformer_dim': 4"):
    narrow_bert.check_sublayer_support(block)
