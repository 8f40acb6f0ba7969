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

"""TokenDropBertEncoder: BERT equivalence, checkpoints, dropping, rejoining."""

import numpy as np
import pytest
import tensorflow as tf
import yaml

from official.modeling.hyperparams import params_dict
from official.nlp.configs import encoders
from official.nlp.modeling import networks
from token_drop.encoders import token_drop_bert

VOCAB = 60
SEQ = 16
BATCH = 3
SIZES = dict(hidden_size=32, num_layers=4, num_attention_heads=2,
             inner_dim=64, max_sequence_length=SEQ, type_vocab_size=2,
             output_dropout=0.0, attention_dropout=0.0)


def _inputs(seed=0, pad_from=(SEQ, 12, 9)):
  rng = np.random.RandomState(seed)
  ids = rng.randint(2, VOCAB, size=(BATCH, SEQ)).astype(np.int32)
  mask = np.ones((BATCH, SEQ), np.int32)
  for b, start in enumerate(pad_from):
    ids[b, start:] = 0
    mask[b, start:] = 0
  ids[:, 0] = 1  # an allow-listed id at position 0
  types = np.zeros((BATCH, SEQ), np.int32)
  types[:, SEQ // 2:] = 1
  return dict(input_word_ids=tf.constant(ids), input_mask=tf.constant(mask),
              input_type_ids=tf.constant(types))


def _pair(tmp_path, keep_k=SEQ, **kwargs):
  """A BertEncoderV2 and a TokenDropBertEncoder holding the same weights."""
  bert = networks.BertEncoderV2(vocab_size=VOCAB, **SIZES)
  td = token_drop_bert.TokenDropBertEncoder(
      vocab_size=VOCAB, token_keep_k=keep_k, token_allow_list=(1,),
      token_deny_list=(0,), **SIZES, **kwargs)
  inputs = _inputs()
  bert(inputs)
  td(inputs)
  path = tf.train.Checkpoint(encoder=bert).write(str(tmp_path / 'bert'))
  tf.train.Checkpoint(encoder=td).read(path).assert_existing_objects_matched()
  return bert, td


def test_same_variables_as_bert_encoder_v2(tmp_path):
  bert, td = _pair(tmp_path)
  names = lambda enc: sorted((v.name.split('/', 1)[1], tuple(v.shape))
                             for v in enc.variables)
  assert names(td) == names(bert)
  ckpt_keys = lambda p: sorted(tf.train.list_variables(p))
  bert_path = tf.train.Checkpoint(encoder=bert).write(str(tmp_path / 'b2'))
  td_path = tf.train.Checkpoint(encoder=td).write(str(tmp_path / 't2'))
  assert ckpt_keys(bert_path) == ckpt_keys(td_path)


@pytest.mark.parametrize('training', [True, False])
def test_keep_all_equals_bert_encoder_v2(tmp_path, training):
  bert, td = _pair(tmp_path)
  inputs = _inputs(seed=1)
  # Non-uniform importance so that the selection path really permutes.
  td.token_importance.table.assign(
      tf.random.stateless_uniform([VOCAB], seed=[1, 2]) * 10.0)
  expected = bert(inputs, training=training)
  with td.token_dropping():
    actual = td(inputs, training=training)
  assert ('token_drop_kept_positions' in actual) == training
  for key in ('sequence_output', 'pooled_output'):
    np.testing.assert_allclose(actual[key], expected[key], atol=1e-5, rtol=0)
  for got, want in zip(actual['encoder_outputs'], expected['encoder_outputs']):
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


def test_token_drop_checkpoint_loads_into_bert_encoder_v2(tmp_path):
  td = token_drop_bert.TokenDropBertEncoder(vocab_size=VOCAB, token_keep_k=8,
                                            **SIZES)
  inputs = _inputs(seed=2)
  want = td(inputs, training=False)
  path = tf.train.Checkpoint(encoder=td).write(str(tmp_path / 'td'))
  bert = networks.BertEncoderV2(vocab_size=VOCAB, **SIZES)
  bert(inputs)
  tf.train.Checkpoint(encoder=bert).read(path).assert_consumed()
  got = bert(inputs, training=False)
  np.testing.assert_allclose(got['sequence_output'], want['sequence_output'],
                             atol=1e-6, rtol=0)


def _reference_kept(table, ids, mask, keep_k, allow=(1,), deny=(0,)):
  """Independent selection: sort by (-score, position) per sequence."""
  kept = []
  for b in range(ids.shape[0]):
    def key(p, b=b):
      if not mask[b, p]:
        rank = 3
      elif ids[b, p] in allow:
        rank = 0
      elif ids[b, p] in deny:
        rank = 2
      else:
        rank = 1
      return (rank, -table[ids[b, p]], p)
    kept.append(sorted(sorted(range(ids.shape[1]), key=key)[:keep_k]))
  return np.array(kept)


@pytest.mark.parametrize('drop_range', [(None, None), (0, 3), (1, 4)])
def test_dropped_positions_rejoin_with_their_pre_drop_state(tmp_path,
                                                            drop_range):
  keep_k = 6
  start_arg, end_arg = drop_range
  _, td = _pair(tmp_path, keep_k=keep_k, token_drop_start_layer=start_arg,
                token_drop_end_layer=end_arg)
  start, end = td.drop_layers
  if drop_range == (None, None):
    assert (start, end) == (1, 3)  # 4 layers: the paper's L/2-1 .. L-1
  table = np.random.RandomState(3).permutation(VOCAB).astype(np.float32)
  td.token_importance.table.assign(table)
  inputs = _inputs(seed=4)
  ids, mask = inputs['input_word_ids'].numpy(), inputs['input_mask'].numpy()
  with td.token_dropping():
    out = td(inputs, training=True)
  kept = _reference_kept(table, ids, mask, keep_k)
  np.testing.assert_array_equal(out['token_drop_kept_positions'], kept)
  # The allow-listed id at position 0 is kept despite a low importance.
  assert (kept[:, 0] == 0).all() and table[1] < np.median(table)
  # The sequence with 9 real tokens keeps 6 of them, no padding.
  assert (kept[2] < 9).all()

  layers = td.transformer_layers
  outputs = out['encoder_outputs']
  assert len(outputs) == 4 and all(o.shape == (BATCH, SEQ, 32)
                                   for o in outputs)
  pre_drop = (outputs[start - 1] if start > 0 else None)
  full_mask = td._attention_mask_layer(outputs[0], inputs['input_mask'])  # pylint: disable=protected-access
  if pre_drop is None:  # layer 0 drops: its input is the embeddings
    word = td._embedding_layer(inputs['input_word_ids'])  # pylint: disable=protected-access
    pre_drop = td._embedding_norm_layer(td._get_embeddings(  # pylint: disable=protected-access
        inputs['input_word_ids'], inputs['input_type_ids'], word, None, None))
  pre_drop = pre_drop.numpy()

  # Independent per-sequence reference of layers start..end-1 and the rejoin.
  for b in range(BATCH):
    kb = kept[b]
    dropped = np.setdiff1d(np.arange(SEQ), kb)
    key_mask = tf.constant(np.broadcast_to(mask[b], (1, keep_k, SEQ)),
                           tf.float32)
    q = layers[start]([pre_drop[b][kb][None], pre_drop[b][None], key_mask])
    kept_mask = tf.constant(
        np.broadcast_to(mask[b][kb], (1, keep_k, keep_k)), tf.float32)
    for i in range(start + 1, end):
      q = layers[i]([q, kept_mask])
    merged = pre_drop[b].copy()
    merged[kb] = q.numpy()[0]
    last_input = outputs[end - 1].numpy()[b]
    # The last dropping layer's output is the next layer's input: dropped
    # positions hold exactly their pre-drop state, kept ones the new one.
    np.testing.assert_array_equal(last_input[dropped], pre_drop[b][dropped])
    np.testing.assert_allclose(last_input[kb], merged[kb], atol=1e-5)
    assert np.abs(last_input[kb] - pre_drop[b][kb]).max() > 1e-3
    want = merged[None]
    for i in range(end, 4):
      want = layers[i]([want, full_mask[b:b + 1]]).numpy()
    np.testing.assert_allclose(out['sequence_output'][b], want[0], atol=1e-5)


def test_inference_never_drops(tmp_path):
  bert, td = _pair(tmp_path, keep_k=4)
  inputs = _inputs(seed=5)
  for training in (False, None):
    with td.token_dropping():
      got = td(inputs, training=training) if training is not None else td(
          inputs)
    assert 'token_drop_kept_positions' not in got
    np.testing.assert_allclose(got['sequence_output'],
                               bert(inputs)['sequence_output'], atol=1e-6)


def test_training_drops_only_inside_token_dropping(tmp_path):
  """A fine-tuning task's training calls (no context) compute BERT."""
  bert, td = _pair(tmp_path, keep_k=4)
  inputs = _inputs(seed=5)
  got = td(inputs, training=True)
  assert 'token_drop_kept_positions' not in got
  np.testing.assert_allclose(got['sequence_output'],
                             bert(inputs)['sequence_output'], atol=1e-6)
  with td.token_dropping():
    with td.token_dropping():
      pass
    assert 'token_drop_kept_positions' in td(inputs, training=True)
  assert 'token_drop_kept_positions' not in td(inputs, training=True)


# An XLA compile takes seconds to minutes on a loaded 2-core CPU.
@pytest.mark.slow
def test_xla_jit_matches_graph(tmp_path):
  _, td = _pair(tmp_path, keep_k=6)
  td.token_importance.table.assign(
      tf.random.stateless_uniform([VOCAB], seed=[3, 4]))
  inputs = _inputs(seed=6)
  run = lambda x: td(x, training=True)['sequence_output']
  with td.token_dropping():
    jitted = tf.function(run, jit_compile=True)(inputs)
    eager = run(inputs)
  np.testing.assert_allclose(jitted, eager, atol=1e-4)
  # Traced while dropping: the result differs from the full-length one.
  assert np.abs(eager - run(inputs)).max() > 1e-3


def test_get_config_round_trip():
  td = token_drop_bert.TokenDropBertEncoder(
      vocab_size=VOCAB, token_keep_k=5, token_allow_list=(1, 2),
      token_deny_list=(0,), token_loss_beta=0.9, token_drop_start_layer=0,
      inner_activation='gelu', **SIZES)
  clone = token_drop_bert.TokenDropBertEncoder.from_config(td.get_config())
  assert clone.get_config() == td.get_config()
  assert clone.drop_layers == (0, 3)
  assert clone.token_selector.keep_k == 5


@pytest.mark.parametrize('bad', [dict(token_drop_start_layer=3,
                                      token_drop_end_layer=2),
                                 dict(token_drop_end_layer=5),
                                 dict(token_keep_k=0),
                                 dict(token_allow_list=(0,))])
def test_bad_arguments_are_reported(bad):
  with pytest.raises(ValueError, match='token_'):
    token_drop_bert.TokenDropBertEncoder(vocab_size=VOCAB, **SIZES, **bad)


def test_keep_k_larger_than_sequence_is_reported():
  td = token_drop_bert.TokenDropBertEncoder(vocab_size=VOCAB, token_keep_k=40,
                                            **SIZES)
  with pytest.raises(ValueError, match='token_keep_k=40'):
    with td.token_dropping():
      td(_inputs(), training=True)
  # Outside the pretraining task's context nothing is selected.
  assert 'token_drop_kept_positions' not in td(_inputs(), training=True)


def test_yaml_config_with_python_tuples_builds_the_encoder():
  text = """
type: any
any:
  vocab_size: 60
  hidden_size: 32
  num_layers: 2
  num_attention_heads: 2
  intermediate_size: 64
  max_position_embeddings: 16
  token_keep_k: 8
  token_allow_list: !!python/tuple [1, 2]
  token_deny_list: !!python/tuple
  - 0
"""
  loaded = yaml.load(text, Loader=params_dict._LOADER)  # pylint: disable=protected-access
  assert loaded['any']['token_allow_list'] == (1, 2)
  config = encoders.EncoderConfig(
      type='any', any=token_drop_bert.TokenDropBertEncoderConfig())
  config.override(loaded, is_strict=True)
  assert tuple(config.get().token_allow_list) == (1, 2)
  encoder = encoders.build_encoder(config)
  assert isinstance(encoder, token_drop_bert.TokenDropBertEncoder)
  assert encoder.get_config()['token_allow_list'] == [1, 2]
  assert encoder.drop_layers == (0, 1)
