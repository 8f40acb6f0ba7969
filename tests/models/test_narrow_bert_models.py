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

"""Tests for token_drop.models.narrow_bert, built without a task."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.nlp.modeling import layers
from token_drop.encoders import narrow_bert
from token_drop.models import narrow_bert as narrow_models

VOCAB = 40
SEQ = 10
BATCH = 2


def _encoder(full=1):
  return narrow_bert.NarrowBertEncoder(
      vocab_size=VOCAB, hidden_size=16, num_layers=3, num_attention_heads=2,
      inner_dim=32, max_sequence_length=SEQ, output_dropout=0.0,
      attention_dropout=0.0, full_length_layers=full)


def _features(seed=0):
  rng = np.random.RandomState(seed)
  ids = rng.randint(5, VOCAB, size=(BATCH, SEQ)).astype(np.int32)
  mask = np.ones((BATCH, SEQ), np.int32)
  mask[1, 7:] = 0
  return dict(input_word_ids=tf.constant(ids), input_mask=tf.constant(mask),
              input_type_ids=tf.zeros_like(ids))


def test_serialization_names_are_unchanged():
  # SavedModels and Keras configs written before the models moved out of
  # token_drop.tasks name these classes; they must keep resolving.
  for cls in (narrow_models.NarrowBertPretrainer,
              narrow_models.NarrowTokenClassifier):
    name = f'TokenDrop>{cls.__name__}'
    assert tf_keras.utils.get_registered_name(cls) == name
    assert tf_keras.utils.get_registered_object(name) is cls


@pytest.mark.parametrize('full', [1, 3])
def test_narrow_output_reads_narrow_states_or_gathers(full):
  # With full == num_layers the encoder has no narrow layer, so the states at
  # the positions are gathered from the sequence output.
  encoder = _encoder(full)
  positions = tf.constant([[2, 5], [1, 3]], tf.int32)
  outputs = encoder(dict(_features(), narrow_positions=positions))
  states = narrow_models.narrow_output(outputs, positions)
  assert states.shape == (BATCH, 2, 16)
  if full < 3:
    want = outputs['narrow_output']
  else:
    assert 'narrow_output' not in outputs
    want = tf.gather(outputs['sequence_output'], positions, batch_dims=1)
  np.testing.assert_allclose(states, want, atol=1e-6)
  assert float(tf.reduce_max(tf.abs(states))) > 0


def test_pretrainer_mlm_logits_are_the_head_at_the_masked_positions():
  encoder = _encoder()
  model = narrow_models.NarrowBertPretrainer(
      encoder_network=encoder,
      classification_heads=[layers.ClassificationHead(
          inner_dim=16, num_classes=2, name='next_sentence')])
  positions = tf.constant([[2, 5, 0], [1, 3, 0]], tf.int32)
  out = model(dict(_features(), masked_lm_positions=positions))
  narrow = tf.concat([tf.zeros([BATCH, 1], tf.int32), positions], 1)
  enc = encoder(dict(_features(), narrow_positions=narrow))
  want = model.masked_lm(enc['sequence_output'], masked_positions=positions)
  np.testing.assert_allclose(out['mlm_logits'], want, atol=1e-5)
  assert out['next_sentence'].shape == (BATCH, 2)
  # BertPretrainerV2's config round trip keeps working.
  config = model.get_config()
  assert config['encoder_network'] is encoder


def test_token_classifier_config_round_trip_and_scatter():
  model = narrow_models.NarrowTokenClassifier(
      network=_encoder(), num_classes=3, dropout_rate=0.0)
  positions = tf.constant([[1, 4], [2, 2]], tf.int32)
  out = model(dict(_features(), narrow_positions=positions), training=False)
  logits = out['logits'].numpy()
  assert logits.shape == (BATCH, SEQ, 3)
  every = model(_features(), training=False)['logits'].numpy()
  for b, row in enumerate(positions.numpy()):
    np.testing.assert_allclose(logits[b, row], every[b, row], atol=1e-5)
    others = np.setdiff1d(np.arange(SEQ), row)
    assert not logits[b, others].any()
  config = model.get_config()
  assert config['num_classes'] == 3 and config['dropout_rate'] == 0.0
  clone = narrow_models.NarrowTokenClassifier.from_config(config)
  assert clone.get_config() == config
