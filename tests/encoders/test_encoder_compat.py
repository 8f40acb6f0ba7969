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

"""Both encoders as drop-ins for BertEncoderV2.

What tfm's networks/bert_encoder_test.py and the upstream
official/projects/token_dropping/encoder_test.py check for an encoder
(creation, invocation with `output_range`, dict outputs, dense inputs,
get_config/from_config, SavedModel, mixed precision), with this package's
encoders in their place. Where an encoder is meant to compute BertEncoderV2,
the outputs are compared with a BertEncoderV2 holding the same weights.
"""

import contextlib
import json

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.nlp.modeling import networks
from token_drop.encoders import narrow_bert
from token_drop.encoders import token_drop_bert
from token_drop.testing import tiers

VOCAB = 57
SEQ = 12
BATCH = 3
HIDDEN = 32
SIZES = dict(hidden_size=HIDDEN, num_layers=4, num_attention_heads=2,
             inner_dim=48, max_sequence_length=SEQ, type_vocab_size=3,
             output_dropout=0.0, attention_dropout=0.0)


def _inputs(seed=0):
  rng = np.random.RandomState(seed)
  ids = rng.randint(2, VOCAB, size=(BATCH, SEQ)).astype(np.int32)
  mask = np.ones((BATCH, SEQ), np.int32)
  mask[1, 9:] = 0
  mask[2, 5:] = 0
  ids[mask == 0] = 0
  types = rng.randint(0, 3, size=(BATCH, SEQ)).astype(np.int32)
  return dict(input_word_ids=tf.constant(ids), input_mask=tf.constant(mask),
              input_type_ids=tf.constant(types))


def _token_drop(**kwargs):
  return token_drop_bert.TokenDropBertEncoder(
      vocab_size=VOCAB, token_keep_k=4, token_allow_list=(1,),
      token_deny_list=(0,), **dict(SIZES, **kwargs))


def _narrow(mode='sparse_queries', **kwargs):
  return narrow_bert.NarrowBertEncoder(
      vocab_size=VOCAB, full_length_layers=2, narrow_mode=mode,
      **dict(SIZES, **kwargs))


ENCODERS = {
    'token_drop': _token_drop,
    'narrow_sparse_queries': lambda **kw: _narrow('sparse_queries', **kw),
    'narrow_context_first': lambda **kw: _narrow('context_first', **kw),
}


def _with_bert_weights(encoder, tmp_path, **kwargs):
  """A BertEncoderV2 with `encoder`'s sizes, and `encoder` given its weights."""
  bert = networks.BertEncoderV2(vocab_size=VOCAB, **dict(SIZES, **kwargs))
  bert(_inputs())
  encoder(_inputs())
  path = tf.train.Checkpoint(encoder=bert).write(str(tmp_path / 'bert'))
  tf.train.Checkpoint(encoder=encoder).read(path).assert_consumed()
  return bert


@pytest.fixture
def policy():
  """Sets a global mixed-precision policy for one test, then float32 again."""
  def set_policy(name):
    tf_keras.mixed_precision.set_global_policy(name)
  yield set_policy
  tf_keras.mixed_precision.set_global_policy('float32')


@pytest.mark.parametrize('name', sorted(ENCODERS))
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_network_creation_with_symbolic_inputs(name):
  encoder = ENCODERS[name]()
  word_ids = tf_keras.Input(shape=(SEQ,), dtype=tf.int32)
  mask = tf_keras.Input(shape=(SEQ,), dtype=tf.int32)
  type_ids = tf_keras.Input(shape=(SEQ,), dtype=tf.int32)
  outputs = encoder(dict(input_word_ids=word_ids, input_mask=mask,
                         input_type_ids=type_ids))
  assert isinstance(encoder.transformer_layers, list)
  assert len(encoder.transformer_layers) == 4
  assert isinstance(encoder.pooler_layer, tf_keras.layers.Dense)
  assert outputs['sequence_output'].shape.as_list() == [None, SEQ, HIDDEN]
  assert outputs['pooled_output'].shape.as_list() == [None, HIDDEN]
  # The narrow encoder lists its full-length layers and the final output.
  assert len(outputs['encoder_outputs']) == (
      3 if name.startswith('narrow') else 4)
  for output in outputs['encoder_outputs']:
    assert output.shape.as_list() == [None, SEQ, HIDDEN]
  assert outputs['sequence_output'].dtype == tf.float32
  assert outputs['pooled_output'].dtype == tf.float32
  model = tf_keras.Model([word_ids, mask, type_ids],
                         [outputs['sequence_output'], outputs['pooled_output']])
  data = _inputs(seed=1)
  sequence, pooled = model.predict(
      [data['input_word_ids'], data['input_mask'], data['input_type_ids']],
      verbose=0)
  assert sequence.shape == (BATCH, SEQ, HIDDEN)
  assert pooled.shape == (BATCH, HIDDEN)


@pytest.mark.parametrize('embedding_width', [None, 16])
@pytest.mark.parametrize('training', [False, True])
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_token_drop_output_range_call_argument(tmp_path, training,
                                               embedding_width):
  encoder = _token_drop(embedding_width=embedding_width)
  bert = _with_bert_weights(encoder, tmp_path,
                            embedding_width=embedding_width)
  inputs = _inputs(seed=2)
  full = bert(inputs)
  got = encoder(inputs, training=training, output_range=1)
  assert got['sequence_output'].shape == (BATCH, 1, HIDDEN)
  np.testing.assert_allclose(got['sequence_output'],
                             full['sequence_output'][:, :1], atol=1e-5)
  np.testing.assert_allclose(got['pooled_output'], full['pooled_output'],
                             atol=1e-5)
  assert len(got['encoder_outputs']) == 4
  # Keras functional model, as upstream's encoder_test builds it.
  word_ids = tf_keras.Input(shape=(SEQ,), dtype=tf.int32)
  mask = tf_keras.Input(shape=(SEQ,), dtype=tf.int32)
  type_ids = tf_keras.Input(shape=(SEQ,), dtype=tf.int32)
  out = encoder(dict(input_word_ids=word_ids, input_mask=mask,
                     input_type_ids=type_ids), output_range=1)
  assert out['sequence_output'].shape.as_list() == [None, 1, HIDDEN]


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_token_drop_output_range_while_dropping(tmp_path):
  encoder = _token_drop()
  _with_bert_weights(encoder, tmp_path)
  encoder.token_importance.table.assign(
      tf.random.stateless_uniform([VOCAB], seed=[1, 2]) * 10.0)
  inputs = _inputs(seed=3)
  with encoder.token_dropping():
    full = encoder(inputs, training=True)
    ranged = encoder(inputs, training=True, output_range=2)
  assert 'token_drop_kept_positions' in ranged
  assert ranged['sequence_output'].shape == (BATCH, 2, HIDDEN)
  np.testing.assert_allclose(ranged['sequence_output'],
                             full['sequence_output'][:, :2], atol=1e-5)
  # The last layer drops too: its rejoined output is cut to the range.
  late = _token_drop(token_drop_end_layer=4)
  _with_bert_weights(late, tmp_path)
  with late.token_dropping():
    full = late(inputs, training=True)
    ranged = late(inputs, training=True, output_range=2)
  np.testing.assert_allclose(ranged['sequence_output'],
                             full['sequence_output'][:, :2], atol=1e-5)


@pytest.mark.parametrize('name', sorted(ENCODERS))
@pytest.mark.parametrize('training', [False, True])
def test_dense_word_embeddings_as_inputs(name, training):
  encoder = ENCODERS[name]()
  inputs = _inputs(seed=4)
  want = encoder(inputs, training=training)
  embeddings = encoder.get_embedding_layer()(inputs['input_word_ids'])
  got = encoder(dict(input_word_embeddings=embeddings,
                     input_mask=inputs['input_mask'],
                     input_type_ids=inputs['input_type_ids']),
                training=training)
  for key in ('sequence_output', 'pooled_output'):
    np.testing.assert_allclose(got[key], want[key], atol=1e-6)
  # Symbolic, as tfm's test_embeddings_as_inputs.
  symbolic = encoder(dict(
      input_word_embeddings=tf_keras.Input(shape=(SEQ, HIDDEN)),
      input_mask=tf_keras.Input(shape=(SEQ,), dtype=tf.int32),
      input_type_ids=tf_keras.Input(shape=(SEQ,), dtype=tf.int32)))
  assert symbolic['sequence_output'].shape.as_list() == [None, SEQ, HIDDEN]


def test_token_dropping_without_word_ids_is_reported():
  encoder = _token_drop()
  inputs = _inputs(seed=5)
  embeddings = encoder.get_embedding_layer()(inputs['input_word_ids'])
  with encoder.token_dropping():
    with pytest.raises(ValueError, match='input_word_ids'):
      encoder(dict(input_word_embeddings=embeddings,
                   input_mask=inputs['input_mask'],
                   input_type_ids=inputs['input_type_ids']), training=True)


@pytest.mark.parametrize('name', sorted(ENCODERS))
def test_dense_inputs_without_support_are_reported(name):
  encoder = ENCODERS[name]()
  inputs = dict(_inputs(seed=6), dense_inputs=tf.zeros([BATCH, 2, HIDDEN]),
                dense_mask=tf.ones([BATCH, 2], tf.int32),
                dense_type_ids=tf.zeros([BATCH, 2], tf.int32))
  with pytest.raises(ValueError, match='dense_inputs'):
    encoder(inputs)


@pytest.mark.parametrize('name', sorted(ENCODERS))
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_get_config_from_config_and_json(name):
  encoder = ENCODERS[name](inner_activation='relu',
                           initializer='glorot_uniform', embedding_width=16)
  clone = type(encoder).from_config(encoder.get_config())
  assert clone.get_config() == encoder.get_config()
  # The config can be forced to JSON (tfm's test does model.to_json()).
  assert json.loads(json.dumps(tf_keras.layers.serialize(encoder)))
  inputs = _inputs(seed=7)
  encoder(inputs)
  clone(inputs)
  clone.set_weights(encoder.get_weights())
  np.testing.assert_allclose(clone(inputs)['sequence_output'],
                             encoder(inputs)['sequence_output'], atol=1e-6)


def _functional(encoder, inputs=None):
  inputs = encoder.inputs if inputs is None else inputs
  return tf_keras.Model(inputs=inputs, outputs=encoder(inputs))


def _save_and_load(model, path):
  model.save(path)
  return tf_keras.models.load_model(path)


# Two exports per encoder (~8 CPU-s each): CI only. The fast tier keeps the
# SavedModel tests below.
@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(ENCODERS))
def test_keras_model_saves_and_loads(tmp_path, name):
  """tfm's test_serialize_deserialize: SavedModel and Keras v3 formats."""
  # A named activation: BertEncoderV2's default is a lambda, which neither
  # format can reload (tfm's test uses relu too).
  encoder = ENCODERS[name](inner_activation='relu')
  model = _functional(encoder)
  data = _inputs(seed=8)
  want = model(data)['sequence_output']
  loaded = _save_and_load(model, str(tmp_path / 'model.keras'))
  np.testing.assert_allclose(loaded(data)['sequence_output'], want, atol=1e-6)
  loaded = _save_and_load(model, str(tmp_path / 'saved_model'))
  got = loaded(data)['sequence_output']
  # Shapes only: this tf_keras reloads the attention kernels of
  # BertEncoderV2 itself freshly initialised from the SavedModel format (the
  # .keras format above is exact).
  assert got.shape == want.shape
  assert sorted(loaded(data)) == sorted(model(data))


def _serving_module(encoder):
  """A serving module calling the encoder with training=False."""
  module = tf.Module()
  module.encoder = encoder
  spec = {key: tf.TensorSpec([None, None], tf.int32)
          for key in ('input_word_ids', 'input_mask', 'input_type_ids')}
  module.serve = tf.function(
      lambda inputs: encoder(inputs, training=False)['sequence_output'],
      input_signature=[spec])
  return module


# SavedModel exports trace every call signature: one encoder in the fast
# tier (token_drop's export has its own test below), all of them in CI.
@pytest.mark.parametrize('name', tiers.first_fast(sorted(ENCODERS)))
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_tf_saved_model_of_encoder_and_serving_module(tmp_path, name):
  encoder = ENCODERS[name]()
  data = _inputs(seed=9)
  want = encoder(data, training=False)['sequence_output']
  # As for BertEncoderV2, the layer itself saves (its variables; Keras keeps
  # no callable signature for it) ...
  tf.saved_model.save(encoder, str(tmp_path / 'encoder'))
  loaded = tf.saved_model.load(str(tmp_path / 'encoder'))
  assert len(loaded.variables) == len(encoder.variables)
  # ... and a serving module around it serves.
  tf.saved_model.save(_serving_module(encoder), str(tmp_path / 'serving'))
  served = tf.saved_model.load(str(tmp_path / 'serving'))
  np.testing.assert_allclose(served.serve(data), want, atol=1e-5)


@pytest.mark.slow  # Among the costliest of the quick tier (5-15 CPU-s).
def test_token_drop_saved_model_holds_no_importance_table(tmp_path):
  """Export for inference: BertEncoderV2's variables, no table, no dropping.

  A Keras model saves its call traced with training=True as well; that trace
  must not drop tokens or capture the (untracked) importance table.
  """
  encoder = _token_drop(inner_activation='relu')
  bert = _with_bert_weights(encoder, tmp_path, inner_activation='relu')
  encoder.token_importance.table.assign(
      tf.random.stateless_uniform([VOCAB], seed=[3, 4]))
  inputs = encoder.inputs
  model = tf_keras.Model(inputs=inputs, outputs=encoder(inputs))
  data = _inputs(seed=10)
  loaded = _save_and_load(model, str(tmp_path / 'saved_model'))
  assert 'token_drop_kept_positions' not in loaded(data, training=True)
  raw = tf.saved_model.load(str(tmp_path / 'saved_model'))
  shapes = sorted(tuple(v.shape) for v in raw.variables)
  assert shapes == sorted(tuple(v.shape) for v in bert.variables)
  assert not any('importance' in v.name for v in raw.variables)


@pytest.mark.parametrize('precision', ['mixed_bfloat16', 'mixed_float16'])
# Post-LN in the fast tier; pre-LN (norm_first) in CI only.
@pytest.mark.parametrize('norm_first', tiers.first_fast([False, True]))
@pytest.mark.parametrize('name', sorted(ENCODERS))
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_mixed_precision(policy, precision, name, norm_first):
  """Every encoder and mode runs under both policies, close to float32."""
  inputs = _inputs(seed=11)
  reference = ENCODERS[name](norm_first=norm_first)
  reference(inputs)
  weights = reference.get_weights()
  dropping = lambda enc: (enc.token_dropping() if name == 'token_drop'
                          else contextlib.nullcontext())
  if name == 'token_drop':
    reference.token_importance.table.assign(
        tf.random.stateless_uniform([VOCAB], seed=[5, 6]) * 10.0)
    table = reference.token_importance.table.numpy()
  with dropping(reference):
    want = [reference(inputs, training=t) for t in (False, True)]
  policy(precision)
  encoder = ENCODERS[name](norm_first=norm_first)
  encoder(inputs)
  encoder.set_weights(weights)
  if name == 'token_drop':
    encoder.token_importance.table.assign(table)
  with dropping(encoder):
    got = [encoder(inputs, training=t) for t in (False, True)]
  # Half precision keeps 8 (bfloat16) or 11 (float16) mantissa bits.
  tolerance = 0.1 if precision == 'mixed_bfloat16' else 0.02
  for training, g, w in zip((False, True), got, want):
    if not norm_first:  # post-norm outputs come from a float32 layer norm
      assert g['sequence_output'].dtype == tf.float32
    if name == 'token_drop':
      assert ('token_drop_kept_positions' in g) == training
      if training:
        np.testing.assert_array_equal(g['token_drop_kept_positions'],
                                      w['token_drop_kept_positions'])
    np.testing.assert_allclose(
        tf.cast(g['sequence_output'], tf.float32), w['sequence_output'],
        atol=tolerance)
