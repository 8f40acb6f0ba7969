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

"""Tests for token_drop.models.layer_output_classifier."""

import numpy as np
import pytest
import tensorflow as tf

from official.nlp.configs import encoders
from official.nlp.modeling import models
from official.nlp.tasks import sentence_prediction
from token_drop.models import layer_output_classifier


def _model_config(num_layers=2):
  return sentence_prediction.ModelConfig(
      num_classes=3, encoder=encoders.EncoderConfig(
          type='bert', bert=encoders.BertEncoderConfig(
              vocab_size=40, hidden_size=16, num_layers=num_layers,
              num_attention_heads=2, intermediate_size=32,
              max_position_embeddings=16)))


def test_encoder_returns_every_layer_without_new_variables():
  config = _model_config()
  classifier = layer_output_classifier.build_classifier(config)
  assert isinstance(classifier, models.BertClassifier)
  # The caller's config is not changed by the switches.
  assert not config.encoder.bert.return_attention_scores
  plain = models.BertClassifier(
      network=encoders.build_encoder(config.encoder), num_classes=3,
      use_encoder_pooler=config.use_encoder_pooler)
  ids = tf.constant(np.arange(1, 17).reshape(2, 8) % 40, tf.int32)
  features = dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
                  input_type_ids=tf.zeros_like(ids))
  plain(features)
  classifier(features)
  assert [v.shape for v in classifier.variables] == [
      v.shape for v in plain.variables]
  encoder = classifier.checkpoint_items['encoder']
  out = encoder(features)
  assert out['word_embeddings'].shape == (2, 8, 16)
  assert len(out['attention_scores']) == 2
  assert out['attention_scores'][0].shape == (2, 2, 8, 8)
  # Attention probabilities: each query's row sums to 1.
  np.testing.assert_allclose(tf.reduce_sum(out['attention_scores'][1], -1),
                             np.ones((2, 2, 8)), atol=1e-5)


def test_encoder_without_the_switches_is_rejected():
  config = _model_config()
  config.encoder = encoders.EncoderConfig(
      type='albert', albert=encoders.AlbertEncoderConfig())
  with pytest.raises(ValueError, match='needs a BERT encoder'):
    layer_output_classifier.build_classifier(config)
