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

"""Pruning for any task: a task mixin driving `token_drop.layers.pruning`.

`PruningTaskMixin` goes first in the bases of any tfm task whose config has a
`pruning: PruningConfig` field:

    class PrunedSentencePredictionTask(PruningTaskMixin,
                                       sentence_prediction.SentencePredictionTask)

* `build_model` builds the parent's model, creates its variables and attaches
  `PruningMasks` over the matching kernels as `model.pruning_masks` (saved in
  the training checkpoints with the model).
* `train_step` runs the parent's own train step with the optimizer wrapped in
  `MaskingOptimizer`, whose `apply_gradients` masks the gradients, runs the
  real update, then (in cross-replica context, via `merge_call`) on schedule
  steps only recomputes the masks and multiplies kernels and Adam moments by
  them; other steps only mask the gradients, which keeps pruned weights and
  their moments at zero. Because the parent's train step is reused as is, the
  task keeps its losses, metrics and hooks; any train step that ends with
  `optimizer.apply_gradients` gets pruning this way. Under
  runtime.mixed_precision_dtype=float16 the optimizer is tfm's
  LossScaleOptimizer: the wrapper passes for it, so the loss is still
  scaled, and the moments masked are those of its inner optimizer.

Training metrics (TensorBoard `train/` and orbit's per-loop console line),
the values at the loop's last step:

* `pruning_scheduled_sparsity`: the schedule's s_t at the step (0 before
  `begin_step`);
* `pruning_achieved_sparsity`: fraction of zeros over all the masks, i.e.
  of the pruned kernels' weights.

`PruningExperimentConfig` is the experiment config of these tasks: its
`validate()` (run by the config parser) checks `task.pruning`, so a bad value
fails at parse time, not when the model is built.

Registered here: `PrunedSentencePredictionConfig` (tfm's sentence prediction)
and `PrunedMaskedLMConfig` (this package's masked LM), both with a `pruning`
field; `experiments/sparse_bert.py` exposes them as experiments.
"""

import dataclasses

import tensorflow as tf
import tf_keras

from official.core import config_definitions as cfg
from official.core import task_factory
from token_drop.core import config_parser
from token_drop.layers import pruning as pruning_lib
from token_drop.tasks import masked_lm
from token_drop.tasks import sentence_prediction as classifier_tasks


class MaskingOptimizer:
  """Wraps an optimizer so that its updates respect the pruning masks.

  Only `apply_gradients` differs; everything else is the wrapped optimizer's.
  The wrapper also passes for the wrapped optimizer's class (`isinstance`),
  so that a train step testing for a `LossScaleOptimizer` (tfm's
  `base_task.Task.train_step`, `loss_scaling.scale_loss`) still scales the
  loss and unscales the gradients under runtime.mixed_precision_dtype=
  float16. The update then goes through the LossScaleOptimizer (which skips
  it when the gradients are not finite, and still counts the step), and the
  masks are recomputed and applied with the slots of its inner optimizer
  (`pruning_lib.optimizer_slots` unwraps `inner_optimizer`).

  Args:
    optimizer: The real optimizer, possibly a LossScaleOptimizer.
    masks: The model's `PruningMasks`.
  """

  def __init__(self, optimizer, masks: pruning_lib.PruningMasks):
    self._optimizer = optimizer
    self._masks = masks

  @property
  def __class__(self):
    # isinstance() falls back on __class__: the wrapper is taken for the
    # optimizer it wraps (as unittest.mock's spec does).
    return type(self._optimizer)

  @property
  def inner_optimizer(self):
    return self._optimizer

  def __getattr__(self, name):
    return getattr(self._optimizer, name)

  def apply_gradients(self, grads_and_vars, *args, **kwargs):
    grads_and_vars = self._masks.mask_gradients(list(grads_and_vars))
    result = self._optimizer.apply_gradients(grads_and_vars, *args, **kwargs)
    deps = [result] if result is not None else []
    with tf.control_dependencies(deps):
      after_update(self._masks, self._optimizer)
    return result


SPARSITY_METRICS = ('pruning_scheduled_sparsity', 'pruning_achieved_sparsity')


class LatestValue(tf_keras.metrics.Metric):
  """The value of the latest `update_state` call (a gauge, not a mean).

  Sparsity is a state of the model, not a per-step quantity: a mean over the
  loop would lag the schedule, so the loop reports its last step's value.

  Args:
    name: The metric's name.
    **kwargs: As for `tf_keras.metrics.Metric` (e.g. dtype).
  """

  def __init__(self, name: str, **kwargs):
    super().__init__(name=name, **kwargs)
    # Every replica holds the same value (masks are mirrored).
    self._value = self.add_weight(
        'value', shape=(), initializer='zeros',
        aggregation=tf.VariableAggregation.MEAN)

  def update_state(self, value):  # pytype: disable=signature-mismatch
    return self._value.assign(tf.cast(value, self.dtype))

  def result(self):
    return tf.identity(self._value)


def update_sparsity_metrics(metrics, masks: pruning_lib.PruningMasks,
                            step) -> None:
  """Sets the `SPARSITY_METRICS` found in `metrics` (replica context).

  Args:
    metrics: The task's training metrics (others are left alone).
    masks: The model's masks, after the step's update.
    step: The optimizer's iteration count after the update.
  """
  by_name = {m.name: m for m in metrics or []}
  values = dict(
      pruning_scheduled_sparsity=pruning_lib.scheduled_sparsity(
          step, masks.config),
      pruning_achieved_sparsity=masks.achieved_sparsity())
  for name, value in values.items():
    if name in by_name:
      by_name[name].update_state(value)


def after_update(masks: pruning_lib.PruningMasks, optimizer) -> None:
  """Recomputes and applies the masks after an update (on schedule steps).

  From replica context this goes through `merge_call`, so masks are computed
  once from the mirrored weights and assigned identically on every replica.
  """
  def merge_fn(strategy):
    del strategy
    masks.after_update(optimizer.iterations, optimizer)
  if tf.distribute.in_cross_replica_context():
    merge_fn(tf.distribute.get_strategy())
  else:
    tf.distribute.get_replica_context().merge_call(merge_fn)


def dummy_inputs(seq_length: int = 8):
  """One all-zero pretraining example, to build a model."""
  ids = tf.zeros([1, seq_length], tf.int32)
  return dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
              input_type_ids=ids, masked_lm_positions=tf.zeros([1, 1],
                                                               tf.int32))


def attach_masks(model: tf_keras.Model,
                 config: pruning_lib.PruningConfig) -> pruning_lib.PruningMasks:
  """Creates the model's variables and attaches `PruningMasks` to it."""
  if not model.built or not model.trainable_variables:
    model(dummy_inputs(), training=False)
  masks = pruning_lib.PruningMasks(
      pruning_lib.select_kernels(model.trainable_variables,
                             config.kernel_patterns), config)
  model.pruning_masks = masks
  return masks


class PruningTaskMixin:
  """Adds gradual magnitude pruning to a task (put it first in the bases).

  The task config needs a `pruning: PruningConfig` field.
  """

  def build_model(self, *args, **kwargs):
    model = super().build_model(*args, **kwargs)
    if self.task_config.pruning.enabled:
      attach_masks(model, self.task_config.pruning)
    return model

  def build_metrics(self, training=None):
    metrics = super().build_metrics(training)
    if training and self.task_config.pruning.enabled:
      metrics += [LatestValue(name) for name in SPARSITY_METRICS]
    return metrics

  def train_step(self, inputs, model: tf_keras.Model, optimizer,
                 metrics=None):
    masks = getattr(model, 'pruning_masks', None)
    if masks is None:
      return super().train_step(inputs, model, optimizer, metrics=metrics)
    logs = super().train_step(inputs, model,
                              MaskingOptimizer(optimizer, masks),
                              metrics=metrics)
    # Reads of the masks and the step follow the update (tf.function's
    # automatic control dependencies; eager order).
    update_sparsity_metrics(metrics, masks, optimizer.iterations)
    return logs


@dataclasses.dataclass
class PruningExperimentConfig(cfg.ExperimentConfig):
  """An experiment whose task has a `pruning: PruningConfig` field."""

  def validate(self):
    super().validate()
    pruning = getattr(self.task, 'pruning', None)
    if pruning is not None:
      pruning.check()


def pruning_experiment(config: cfg.ExperimentConfig
                       ) -> PruningExperimentConfig:
  """Returns `config` as a PruningExperimentConfig.

  Keeps its task, trainer, runtime and restrictions.
  """
  return config_parser.upgrade(config, PruningExperimentConfig)


@dataclasses.dataclass
class PrunedSentencePredictionConfig(
    classifier_tasks.SentencePredictionConfig):
  """tfm's sentence prediction with pruning."""
  pruning: pruning_lib.PruningConfig = dataclasses.field(
      default_factory=pruning_lib.PruningConfig)


@task_factory.register_task_cls(PrunedSentencePredictionConfig)
class PrunedSentencePredictionTask(PruningTaskMixin,
                                   classifier_tasks.SentencePredictionTask):
  """Sentence prediction whose encoder kernels are pruned while fine-tuned."""


@dataclasses.dataclass
class PrunedMaskedLMConfig(masked_lm.MaskedLMConfig):
  """Masked LM with pruning."""
  pruning: pruning_lib.PruningConfig = dataclasses.field(
      default_factory=pruning_lib.PruningConfig)


@task_factory.register_task_cls(PrunedMaskedLMConfig)
class PrunedMaskedLMTask(PruningTaskMixin, masked_lm.MaskedLMTask):
  """Masked LM whose encoder kernels are pruned while trained."""
