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

from official.core import task_factory
from official.modeling import performance
from token_drop.core import time_budget
from token_drop.core import trainer as trainer_lib
from token_drop.testing import tiny_experiments as tiny

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
  ours = set(tiny.package_experiments())
  assert ours <= set(EXPERIMENTS), sorted(ours - set(EXPERIMENTS))


class Run:
  """A tiny experiment's task, model, optimizer and train step in one dtype."""

  def __init__(self, experiment: str, dtype: str):
    self.config = tiny.tiny_config(experiment, dtype)
    tf_keras.utils.set_random_seed(0)
    self.task = task_factory.get_task(self.config.task)
    self.model = self.task.build_model()
    self.batch = tiny.tiny_batch(self.task)
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


# The quick tier keeps one case (the main method in bfloat16); CI runs all.
FAST_CASE = ('token_drop_bert/pretraining', 'bfloat16')


def _params(names, policies):
  for name in names:
    for dtype in policies:
      marks = () if (name, dtype) == FAST_CASE else pytest.mark.slow
      yield pytest.param(name, dtype, id=f'{name}-{dtype}', marks=marks)


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
