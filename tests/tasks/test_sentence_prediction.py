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

"""Tests for token_drop.tasks.sentence_prediction: `init_classifier`."""

import numpy as np
import pytest
import tensorflow as tf

from official.nlp.configs import encoders
from token_drop.tasks import pruning
from token_drop.tasks import sentence_prediction
from token_drop.tasks import sparse_bert

TASKS = {
    sentence_prediction.SentencePredictionConfig:
        sentence_prediction.SentencePredictionTask,
    pruning.PrunedSentencePredictionConfig:
        pruning.PrunedSentencePredictionTask,
    sparse_bert.SparseBertConfig: sparse_bert.SparseBertTask,
}


def task_config(cls=sentence_prediction.SentencePredictionConfig):
  c = cls()
  c.model.num_classes = 3
  c.model.encoder = encoders.EncoderConfig(
      type='bert', bert=encoders.BertEncoderConfig(
          vocab_size=40, hidden_size=16, num_layers=2, num_attention_heads=2,
          intermediate_size=32, max_position_embeddings=16))
  return c


def inputs():
  ids = tf.constant(np.random.default_rng(0).integers(1, 40, (2, 8)),
                    tf.int32)
  return dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
              input_type_ids=tf.zeros_like(ids))


def save_fine_tuned(tmp_path):
  """A classifier saved as train.py saves it (`model` plus its items)."""
  model = sentence_prediction.SentencePredictionTask(
      task_config()).build_model()
  checkpoint = tf.train.Checkpoint(model=model, **model.checkpoint_items)
  checkpoint.save(str(tmp_path / 'ckpt'))
  return model


@pytest.mark.parametrize('cls', list(TASKS))
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_init_classifier_restores_encoder_and_head(tmp_path, cls):
  source = save_fine_tuned(tmp_path)
  c = task_config(cls)
  c.init_checkpoint = str(tmp_path)
  c.init_classifier = True
  if hasattr(c, 'pruning'):
    c.pruning.target_sparsity = 0.5
  if hasattr(c, 'teacher'):  # The student starts as a copy of its teacher.
    c.teacher.model = c.model
    c.teacher.init_checkpoint = str(tmp_path)
  task = TASKS[cls](c)
  model = task.build_model()
  before = model(inputs(), training=False).numpy()
  task.initialize(model)
  expected = source(inputs(), training=False).numpy()
  assert np.abs(before - expected).max() > 1e-3
  np.testing.assert_allclose(model(inputs(), training=False).numpy(),
                             expected, atol=1e-6)


def test_without_init_classifier_only_the_encoder_is_restored(tmp_path):
  source = save_fine_tuned(tmp_path)
  c = task_config()
  c.init_checkpoint = str(tmp_path)
  task = sentence_prediction.SentencePredictionTask(c)
  model = task.build_model()
  task.initialize(model)
  encoder_out = model.checkpoint_items['encoder'](inputs())['pooled_output']
  np.testing.assert_allclose(
      encoder_out.numpy(),
      source.checkpoint_items['encoder'](inputs())['pooled_output'].numpy(),
      atol=1e-6)
  assert np.abs(model(inputs()).numpy() - source(inputs()).numpy()).max() > 1e-3


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_init_classifier_rejects_an_encoder_only_checkpoint(tmp_path):
  encoder = sentence_prediction.SentencePredictionTask(
      task_config()).build_model().checkpoint_items['encoder']
  tf.train.Checkpoint(encoder=encoder).save(str(tmp_path / 'ckpt'))
  c = task_config()
  c.init_checkpoint = str(tmp_path)
  c.init_classifier = True
  task = sentence_prediction.SentencePredictionTask(c)
  with pytest.raises(sentence_prediction.InitCheckpointError,
                     match='no `model` item'):
    task.initialize(task.build_model())
  c.init_checkpoint = str(tmp_path / 'missing')
  with pytest.raises(sentence_prediction.InitCheckpointError,
                     match='missing'):
    task.initialize(task.build_model())
