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

"""Every registered experiment trains in mixed_bfloat16 and mixed_float16.

Each experiment of this package, and tfm's bert/pretraining,
bert/sentence_prediction and bert/tagging, is built from its registered config
shrunk to a tiny model (dropout off, so that a step is deterministic), with
the optimizer token_drop.core.trainer builds for `runtime.
mixed_precision_dtype` (a LossScaleOptimizer for float16), and runs two
training steps through the task's own `train_step` under the policy train.py
sets (eagerly: tracing ~50 train steps would take minutes; the pruning tests
in tests/layers/test_pruning_masks.py run float16 under tf.function).
Checked: both losses are finite and float32; the first-step loss is within a
stated tolerance of float32's from the same weights (students and teachers)
and batch; in float16 the step scaled the loss and unscaled the gradients;
model variables (masks and importance tables included) are float32; a
checkpoint written in mixed precision holds float32 values only and restores
into a float32 model.
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.core import exp_factory
from official.core import task_factory
from official.modeling import performance
from official.nlp.tasks import sentence_prediction
from official.nlp.tasks import tagging
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from token_drop.core import time_budget
from token_drop.core import trainer as trainer_lib
from token_drop.tasks import narrow_bert as narrow_tasks

VOCAB = 128  # Holds the default token-drop allow list (100-103).
SEQ = 16
PREDS = 4
BATCH = 2
HIDDEN = 16

EXPERIMENTS = (
    'bert/pretraining', 'bert/sentence_prediction', 'bert/tagging',
    'bort/pretraining_distillation', 'budget_bert/pretraining',
    'budget_bert/sentence_prediction', 'budget_bert/tagging',
    'finetuning/sentence_prediction', 'finetuning/tagging',
    'narrow_bert/pretraining', 'narrow_bert/sentence_prediction',
    'narrow_bert/tagging', 'pruning/masked_lm', 'pruning/sentence_prediction',
    'sparse_bert/sentence_prediction', 'token_drop_bert/pretraining',
)
# NarrowBERT's other narrow mode, not the default of any registration.
CONTEXT_FIRST = 'narrow_bert/pretraining:context_first'

# |loss - float32 loss| / float32 loss at the first step, from the same
# weights and batch. Measured on these tiny models: at most 3.3e-4 in
# bfloat16 and 2.4e-3 in float16 (the sentence-prediction models, whose
# loss is near ln 3); 1% leaves room for other CPUs' kernels and rounding.
RTOL = {'bfloat16': 1e-2, 'float16': 1e-2}
POLICIES = ('bfloat16', 'float16')
# tfm's own MaskedLMTask.train_step never scales the loss (a LossScaleOptimizer
# only checks the gradients for overflow there); this package's masked-LM
# tasks (token_drop.tasks.masked_lm) do.
UNSCALED = ('bert/pretraining',)


def test_every_registered_experiment_of_the_package_is_covered():
  def names(registry, prefix=''):
    for key, value in registry.items():
      if isinstance(value, dict):
        yield from names(value, f'{prefix}{key}/')
      else:
        yield prefix + key
  registry = exp_factory._REGISTERED_CONFIGS  # pylint: disable=protected-access
  ours = {n for n in names(registry) if n.split('/')[0] not in ('bert',
                                                                 'electra')}
  assert ours <= set(EXPERIMENTS), sorted(ours - set(EXPERIMENTS))


def _shrink_encoder(encoder):
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


def tiny_config(experiment: str, dtype: str):
  """The registered config with tiny encoders, no dropout, runtime dtype."""
  name, _, variant = experiment.partition(':')
  config = exp_factory.get_exp_config(name)
  config.runtime.mixed_precision_dtype = dtype
  task = config.task
  _shrink_encoder(task.model.encoder)
  if variant == 'context_first':
    task.model.encoder.get().narrow_mode = 'context_first'
  for head in getattr(task.model, 'cls_heads', None) or []:
    head.inner_dim, head.dropout_rate = HIDDEN, 0.0
  if hasattr(task.model, 'head_dropout'):
    task.model.head_dropout = 0.0
  if hasattr(task.model, 'num_classes'):
    task.model.num_classes = 3
  if hasattr(task, 'class_names'):
    task.class_names = ['O', 'B-X', 'I-X']
  teacher = getattr(task, 'teacher', None)
  if teacher is not None:
    _shrink_encoder(teacher.model.encoder)
    if hasattr(teacher.model, 'num_classes'):
      teacher.model.num_classes = 3
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


def tiny_batch(task, seed=0):
  """A random batch in the layout the task's data loader produces."""
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
    labels = rng.randint(0, 3, size=(BATCH, SEQ)).astype(np.int32)
    labels[:, 0] = -1  # [CLS] and continuation sub-words are unlabelled.
    labels[:, 3::4] = -1
    labels[mask == 0] = -1
    labels = tf.constant(labels)
    if isinstance(task, narrow_tasks.NarrowTaggingTask):
      features['narrow_positions'] = narrow_tasks.labelled_positions(
          labels, SEQ)[0]
    return features, labels
  if isinstance(task, sentence_prediction.SentencePredictionTask):
    features['label_ids'] = tf.constant(rng.randint(0, 3, size=BATCH),
                                        tf.int32)
    return features
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


class Run:
  """A tiny experiment's task, model, optimizer and train step in one dtype."""

  def __init__(self, experiment: str, dtype: str):
    self.config = tiny_config(experiment, dtype)
    tf_keras.utils.set_random_seed(0)
    self.task = task_factory.get_task(self.config.task)
    self.model = self.task.build_model()
    self.batch = tiny_batch(self.task)
    features = self.batch[0] if isinstance(self.batch, tuple) else self.batch
    self.model(features, training=False)  # Creates every variable.
    self.optimizer = trainer_lib.create_optimizer(
        self.task, self.config, time_budget.TrainingClock())
    self.metrics = self.task.build_metrics(training=True)

  @property
  def teacher(self):
    return getattr(self.task, 'teacher', None)

  def step(self) -> float:
    # Eager: tracing 45 train steps would take minutes; the pruning tests
    # (tests/layers/test_pruning_masks.py) run mixed float16 in tf.function.
    loss = self.task.train_step(self.batch, self.model, self.optimizer,
                                self.metrics)[self.task.loss]
    assert loss.dtype == tf.float32, loss.dtype
    return float(loss)


_FLOAT32 = {}


def float32_run(experiment: str):
  """The float32 run of `experiment` (initial weights, first-step loss)."""
  if experiment not in _FLOAT32:
    performance.set_mixed_precision_policy('float32')
    run = Run(experiment, 'float32')
    run.initial_weights = run.model.get_weights()
    run.teacher_weights = run.teacher.get_weights() if run.teacher else None
    run.first_loss = run.step()
    _FLOAT32[experiment] = run
  return _FLOAT32[experiment]


@pytest.fixture
def restore_float32_policy():
  yield
  tf_keras.mixed_precision.set_global_policy('float32')


def _params(names, policies):
  for name in names:
    for dtype in policies:
      yield pytest.param(name, dtype, id=f'{name}-{dtype}')


@pytest.mark.parametrize('experiment,dtype',
                         list(_params(EXPERIMENTS + (CONTEXT_FIRST,),
                                      POLICIES)))
def test_two_mixed_precision_steps_match_float32_and_save_float32(
    experiment, dtype, tmp_path, restore_float32_policy):
  del restore_float32_policy
  reference = float32_run(experiment)
  performance.set_mixed_precision_policy(dtype)
  run = Run(experiment, dtype)
  assert tf_keras.mixed_precision.global_policy().name == f'mixed_{dtype}'
  if dtype == 'float16':
    assert isinstance(run.optimizer,
                      tf_keras.mixed_precision.LossScaleOptimizer)
  run.model.set_weights(reference.initial_weights)
  if run.teacher is not None:
    run.teacher.set_weights(reference.teacher_weights)
  losses = [run.step(), run.step()]
  assert np.all(np.isfinite(losses)), losses
  if dtype == 'float16' and experiment not in UNSCALED:
    # The train step scaled the loss and unscaled the gradients (tf_keras
    # warns, and float16 gradients may underflow, otherwise).
    assert run.optimizer._loss_has_been_scaled  # pylint: disable=protected-access
    assert run.optimizer._gradients_have_been_unscaled  # pylint: disable=protected-access
  assert losses[0] == pytest.approx(reference.first_loss, rel=RTOL[dtype])
  assert {v.dtype for v in run.model.variables} <= {tf.float32, tf.int32,
                                                    tf.int64}, [
      (v.name, v.dtype) for v in run.model.variables
      if v.dtype not in (tf.float32, tf.int32, tf.int64)]
  path = tf.train.Checkpoint(model=run.model).save(str(tmp_path / 'ckpt'))
  saved = tf.train.load_checkpoint(path).get_variable_to_dtype_map()
  floats = {n: d for n, d in saved.items() if d.is_floating}
  assert floats and set(floats.values()) == {tf.float32}, floats
  tf_keras.mixed_precision.set_global_policy('float32')
  target = reference.model  # Built under float32.
  tf.train.Checkpoint(model=target).read(path).assert_existing_objects_matched()
  for restored, trained in zip(target.variables, run.model.variables):
    np.testing.assert_array_equal(restored.numpy(), trained.numpy())
