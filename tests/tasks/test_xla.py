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

"""Every registered experiment's train and validation steps compile with XLA.

`jit_compile=True` on CPU is the closest check of TPU readiness this machine
allows: XLA refuses ops without an XLA kernel (host-side ops such as
py_function, string ops, prints) and data-dependent output shapes. Each
experiment of this package, and tfm's bert/pretraining, is built from its
registered config shrunk to a tiny float32 model (dropout off, so that steps
are deterministic). Checked: the task's own `validation_step` and two
`train_step`s (on two different batches) run under
`tf.function(jit_compile=True)`, are traced once (no Python-side state that
changes per step), hold no float64 (TPUs have none), give finite losses, and
the first validation and training losses equal those of the same steps run
without XLA (eagerly) from the same weights within RTOL (XLA fuses and
reorders float32 arithmetic; measured differences on these models are below
1e-6).

The tiny configs and batches come from token_drop.testing.tiny_experiments
(shared with tests/tasks/test_mixed_precision.py).
"""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.core import task_factory
from token_drop.core import time_budget
from token_drop.core import trainer as trainer_lib
from token_drop.testing import tiny_experiments as tiny

RTOL = 1e-4

# One parameter per registered experiment, grouped by family in the ids.
EXPERIMENTS = (
    'bert/pretraining', 'token_drop_bert/pretraining',
    'narrow_bert/pretraining', 'narrow_bert/pretraining:context_first',
    'budget_bert/pretraining', 'bort/pretraining_distillation',
    'finetuning/sentence_prediction', 'finetuning/tagging',
    'narrow_bert/sentence_prediction', 'narrow_bert/tagging',
    'budget_bert/sentence_prediction', 'budget_bert/tagging',
    'sparse_bert/sentence_prediction', 'pruning/sentence_prediction',
    'pruning/masked_lm',
)


def test_every_registered_experiment_of_the_package_is_covered():
  ours = set(tiny.package_experiments())
  assert ours <= set(EXPERIMENTS), sorted(ours - set(EXPERIMENTS))


class _Run:
  """A tiny experiment's task, model, optimizer and metrics."""

  def __init__(self, experiment: str, weights=None):
    self.config = tiny.tiny_config(experiment)
    tf_keras.utils.set_random_seed(0)
    self.task = task_factory.get_task(self.config.task)
    self.model = self.task.build_model()
    self.batches = [tiny.tiny_batch(self.task, seed, random_positions=True)
                    for seed in (0, 1)]
    first = self.batches[0]
    self.model(first[0] if isinstance(first, tuple) else first,
               training=False)  # Creates every variable.
    self.teacher = getattr(self.task, 'teacher', None)
    for model in (self.model, self.teacher):
      # tfm's BertClassifier has a fixed 0.1 dropout on [CLS]; XLA's random
      # bits differ from eager ones, so it is turned off (read at tracing).
      for layer in model.submodules if model is not None else ():
        if isinstance(layer, tf_keras.layers.Dropout):
          layer.rate = 0.0
    if weights is not None:
      self.model.set_weights(weights[0])
      if self.teacher is not None:
        self.teacher.set_weights(weights[1])
    self.optimizer = trainer_lib.create_optimizer(
        self.task, self.config, time_budget.TrainingClock())
    self.train_metrics = self.task.build_metrics(training=True)
    self.eval_metrics = self.task.build_metrics(training=False)

  def weights(self):
    return (self.model.get_weights(),
            self.teacher.get_weights() if self.teacher is not None else None)

  def train(self, batch):
    return self.task.train_step(batch, self.model, self.optimizer,
                                self.train_metrics)[self.task.loss]

  def validate(self, batch):
    return self.task.validation_step(batch, self.model,
                                     self.eval_metrics)[self.task.loss]


def _graph_dtypes(concrete) -> set:
  """Every dtype of every op output in a traced function and its callees."""
  graph_def = concrete.graph.as_graph_def()
  nodes = list(graph_def.node)
  for function in graph_def.library.function:
    nodes.extend(function.node_def)
  dtypes = set()
  for node in nodes:
    for key in ('T', 'dtype', 'DstT', 'SrcT', 'out_type', 'Tout'):
      if key in node.attr:
        attr = node.attr[key]
        if attr.type:
          dtypes.add(tf.dtypes.as_dtype(attr.type))
        dtypes.update(tf.dtypes.as_dtype(t) for t in attr.list.type)
  return dtypes


def _param(experiment):
  family = experiment.split('/')[1].split(':')[0]
  return pytest.param(experiment, id=f'{family}-{experiment}')


# XLA compiles of a train step take 30 s to minutes on a 2-core machine.
@pytest.mark.slow
@pytest.mark.timeout(2400)
@pytest.mark.parametrize('experiment', [_param(e) for e in EXPERIMENTS])
def test_train_and_validation_steps_compile_with_xla(experiment):
  tf_keras.mixed_precision.set_global_policy('float32')
  run = _Run(experiment)
  initial = run.weights()
  validate = tf.function(run.validate, jit_compile=True)
  train = tf.function(run.train, jit_compile=True)
  xla_eval = float(validate(run.batches[0]))
  xla_losses = [float(train(run.batches[0]))]
  traces = train.experimental_get_tracing_count()
  xla_losses.append(float(train(run.batches[1])))
  assert train.experimental_get_tracing_count() == traces, (
      'the train step was traced again for a batch of the same shapes')
  assert np.all(np.isfinite(xla_losses + [xla_eval])), (xla_losses, xla_eval)
  for fn, batch in ((train, run.batches[1]), (validate, run.batches[0])):
    dtypes = _graph_dtypes(fn.get_concrete_function(batch))
    assert tf.float64 not in dtypes, 'float64 in the compiled step'

  reference = _Run(experiment, weights=initial)
  assert float(reference.validate(reference.batches[0])) == pytest.approx(
      xla_eval, rel=RTOL)
  assert float(reference.train(reference.batches[0])) == pytest.approx(
      xla_losses[0], rel=RTOL)
