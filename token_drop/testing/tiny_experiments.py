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

"""Registered experiments shrunk to tiny models, and batches for their tasks.

Used by the tests that step every registered experiment's task directly
(tests/tasks/test_mixed_precision.py, tests/tasks/test_xla.py): the config is
the registered one with tiny encoders (teachers too), no dropout, three
classes and a short optimizer schedule; the batch is random, in the layout
the task's data loader produces.
"""

from typing import List, Optional

import numpy as np
import tensorflow as tf

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.nlp.tasks import sentence_prediction
from official.nlp.tasks import tagging
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from token_drop.core import config_parser
from token_drop.tasks import narrow_bert as narrow_tasks

VOCAB = 128  # Holds the default token-drop allow list (100-103).
SEQ = 16
PREDS = 4
BATCH = 2
HIDDEN = 16
NUM_CLASSES = 3


def package_experiments() -> List[str]:
  """The registered experiment names, but tfm's bert/ and electra/ ones."""
  return [n for n in config_parser.registered_experiments()
          if n.split('/')[0] not in ('bert', 'electra')]


def shrink_encoder(encoder) -> None:
  """Makes a tiny, dropout-free encoder of a OneOf encoder config in place."""
  inner = encoder.get()
  inner.override(dict(
      vocab_size=VOCAB, hidden_size=HIDDEN, num_layers=2,
      num_attention_heads=2, intermediate_size=32,
      max_position_embeddings=SEQ, dropout_rate=0.0,
      attention_dropout_rate=0.0))
  # Three layers for the methods, so that their outputs differ from BERT's:
  # a middle layer on the kept tokens only; two narrow layers (with one, the
  # masked positions' outputs are BERT's).
  if hasattr(inner, 'token_keep_k'):
    inner.override(dict(num_layers=3, token_keep_k=SEQ // 2,
                        token_drop_start_layer=1, token_drop_end_layer=2))
  if hasattr(inner, 'full_length_layers'):
    inner.override(dict(num_layers=3, full_length_layers=1))


def tiny_config(experiment: str,
                mixed_precision_dtype: Optional[str] = None
                ) -> cfg.ExperimentConfig:
  """The registered config with tiny encoders and no dropout.

  Args:
    experiment: a registered name, optionally with `:<narrow_mode>` for
      NarrowBERT's other mode (e.g. 'narrow_bert/pretraining:context_first').
    mixed_precision_dtype: `runtime.mixed_precision_dtype` if given; the
      registered value otherwise.

  Returns:
    The (unlocked) experiment config.
  """
  name, _, variant = experiment.partition(':')
  config = exp_factory.get_exp_config(name)
  if mixed_precision_dtype is not None:
    config.runtime.mixed_precision_dtype = mixed_precision_dtype
  task = config.task
  shrink_encoder(task.model.encoder)
  if variant:
    task.model.encoder.get().narrow_mode = variant
  for head in getattr(task.model, 'cls_heads', None) or []:
    head.inner_dim, head.dropout_rate = HIDDEN, 0.0
  if hasattr(task.model, 'head_dropout'):
    task.model.head_dropout = 0.0
  if hasattr(task.model, 'num_classes'):
    task.model.num_classes = NUM_CLASSES
  if hasattr(task, 'class_names'):
    task.class_names = ['O', 'B-X', 'I-X']
  teacher = getattr(task, 'teacher', None)
  if teacher is not None:
    shrink_encoder(teacher.model.encoder)
    if hasattr(teacher.model, 'num_classes'):
      teacher.model.num_classes = NUM_CLASSES
    teacher.allow_untrained = True
  if getattr(task, 'pruning', None) is not None:
    # Masks recomputed (and kernels and moments re-masked) at both steps.
    task.pruning.override(dict(target_sparsity=0.5, begin_step=0,
                               end_step=2, frequency=1))
  optimizer = config.trainer.optimizer_config
  if optimizer.learning_rate.type == 'polynomial':  # tfm's leave it unset.
    optimizer.learning_rate.polynomial.decay_steps = 10
  if optimizer.warmup.type == 'polynomial':
    optimizer.warmup.polynomial.warmup_steps = 1
  for data in (task.train_data, task.validation_data):
    for key, value in (('seq_length', SEQ), ('max_seq_length', SEQ),
                       ('max_predictions_per_seq', PREDS),
                       ('global_batch_size', BATCH)):
      if hasattr(data, key):
        setattr(data, key, value)
  return config


def tiny_batch(task, seed: int = 0, random_positions: bool = False):
  """A random batch in the layout the task's data loader produces.

  Args:
    task: the task built from a `tiny_config`.
    seed: seeds the token ids, labels and (if random) masked positions.
    random_positions: masked-LM positions drawn at random among the unpadded
      tokens; positions 1 to PREDS otherwise.

  Returns:
    The features dict, or (features, labels) for tagging tasks.
  """
  rng = np.random.RandomState(seed)
  ids = rng.randint(1, VOCAB, size=(BATCH, SEQ)).astype(np.int32)
  ids[:, 0] = 101  # [CLS]
  mask = np.ones_like(ids)
  mask[-1, SEQ - 4:] = 0  # Some padding.
  ids[-1, SEQ - 4:] = 0
  features = dict(input_word_ids=tf.constant(ids),
                  input_mask=tf.constant(mask),
                  input_type_ids=tf.zeros_like(ids))
  if isinstance(task, tagging.TaggingTask):
    labels = rng.randint(0, NUM_CLASSES, size=(BATCH, SEQ)).astype(np.int32)
    labels[:, 0] = -1  # [CLS] and continuation sub-words are unlabelled.
    labels[:, 3::4] = -1
    labels[mask == 0] = -1
    labels = tf.constant(labels)
    if isinstance(task, narrow_tasks.NarrowTaggingTask):
      features['narrow_positions'] = narrow_tasks.labelled_positions(
          labels, SEQ)[0]
    return features, labels
  if isinstance(task, sentence_prediction.SentencePredictionTask):
    features['label_ids'] = tf.constant(
        rng.randint(0, NUM_CLASSES, size=BATCH), tf.int32)
    return features
  if random_positions:
    positions = np.sort(np.stack([rng.choice(np.arange(1, SEQ - 4), PREDS,
                                             False) for _ in range(BATCH)]),
                        axis=1).astype(np.int32)
  else:
    positions = np.tile(np.arange(1, PREDS + 1), (BATCH, 1)).astype(np.int32)
  weights = np.ones((BATCH, PREDS), np.float32)
  weights[0, -1] = 0.0
  features.update(
      masked_lm_positions=tf.constant(positions),
      masked_lm_ids=tf.constant(np.take_along_axis(ids, positions, 1)),
      masked_lm_weights=tf.constant(weights))
  if task.task_config.model.cls_heads:
    features['next_sentence_labels'] = tf.constant([0, 1], tf.int32)
  return features
