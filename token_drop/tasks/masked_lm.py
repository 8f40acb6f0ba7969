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

"""Masked-LM pretraining task shared by the methods, with per-position losses.

tfm's `MaskedLMTask` reduces the MLM loss to a scalar inside `build_losses`.
Methods that need the loss of each prediction (token dropping updates its
importance table from it; distillation and pruning methods weight or log it)
subclass this task instead and override `after_train_step`, which receives the
per-position losses of the step. Training and validation otherwise behave
exactly as tfm's task (same losses, metrics, `scale_loss` handling).
"""

import dataclasses
from typing import Any, Dict, Optional, Tuple

import tensorflow as tf
import tf_keras

from official.core import task_factory
from official.nlp.tasks import masked_lm
from token_drop.tasks import loss_scaling


@dataclasses.dataclass
class MaskedLMConfig(masked_lm.MaskedLMConfig):
  """tfm's masked-LM task config (registered to this task)."""


def per_position_mlm_losses(labels: Dict[str, tf.Tensor],
                            model_outputs: Dict[str, tf.Tensor]) -> tf.Tensor:
  """Unweighted cross-entropy of each MLM prediction slot.

  Args:
    labels: Inputs holding `masked_lm_ids` [batch, num_predictions].
    model_outputs: Outputs holding `mlm_logits` [batch, num_predictions,
      vocab].

  Returns:
    float32 [batch, num_predictions] losses (padding slots included; weight
    them with `masked_lm_weights`).
  """
  return tf_keras.losses.sparse_categorical_crossentropy(
      labels['masked_lm_ids'],
      tf.cast(model_outputs['mlm_logits'], tf.float32),
      from_logits=True)


@task_factory.register_task_cls(MaskedLMConfig)
class MaskedLMTask(masked_lm.MaskedLMTask):
  """tfm's masked-LM task exposing per-position losses to subclasses."""

  # Weight of the MLM cross-entropy in the total loss (distillation lowers
  # it); `lm_example_loss` always reports the unweighted value.
  mlm_loss_weight = 1.0

  def compute_losses(
      self,
      labels,
      model_outputs,
      metrics,
      aux_losses=None) -> Tuple[tf.Tensor, tf.Tensor]:
    """Returns (total loss, per-position MLM losses [batch, predictions])."""
    with tf.name_scope('MaskedLMTask/losses'):
      metrics = {metric.name: metric for metric in metrics}
      lm_losses = per_position_mlm_losses(labels, model_outputs)
      weights = tf.cast(labels['masked_lm_weights'], tf.float32)
      mlm_loss = tf.math.divide_no_nan(
          tf.reduce_sum(lm_losses * weights), tf.reduce_sum(weights))
      metrics['lm_example_loss'].update_state(mlm_loss)
      total_loss = self.mlm_loss_weight * mlm_loss
      if 'next_sentence_labels' in labels:
        sentence_loss = tf.reduce_mean(
            tf_keras.losses.sparse_categorical_crossentropy(
                labels['next_sentence_labels'],
                tf.cast(model_outputs['next_sentence'], tf.float32),
                from_logits=True))
        metrics['next_sentence_loss'].update_state(sentence_loss)
        total_loss += sentence_loss
      if aux_losses:
        total_loss += tf.add_n(aux_losses)
      return total_loss, lm_losses

  def build_losses(self, labels, model_outputs, metrics,
                   aux_losses=None) -> tf.Tensor:
    return self.compute_losses(labels, model_outputs, metrics, aux_losses)[0]

  def after_train_step(self, inputs: Dict[str, tf.Tensor],
                       model_outputs: Dict[str, Any],
                       lm_losses: tf.Tensor, model: tf_keras.Model,
                       metrics) -> Optional[Dict[str, tf.Tensor]]:
    """Hook run after the optimizer update of every training step.

    Runs in replica context (inside `strategy.run`). Validation never calls
    it.

    Args:
      inputs: The step's inputs (labels included).
      model_outputs: The model's outputs of the step.
      lm_losses: float32 [batch, predictions] per-position MLM losses.
      model: The model.
      metrics: The task's training metrics.

    Returns:
      Optional extra logs for the step.
    """
    del inputs, model_outputs, lm_losses, model, metrics
    return None

  def train_step(self, inputs, model: tf_keras.Model,
                 optimizer: tf_keras.optimizers.Optimizer, metrics):
    """Forward, backward, optimizer update, then `after_train_step`.

    Args:
      inputs: A dictionary of input tensors.
      model: The model.
      optimizer: The optimizer.
      metrics: A list of metrics.

    Returns:
      A dictionary of logs.
    """
    with tf.GradientTape() as tape:
      outputs = model(inputs, training=True)
      loss, lm_losses = self.compute_losses(
          labels=inputs, model_outputs=outputs, metrics=metrics,
          aux_losses=model.losses)
      scaled_loss = loss_scaling.scale_loss(
          loss, optimizer, per_replica=self.task_config.scale_loss)
    tvars = model.trainable_variables
    grads = loss_scaling.unscale_gradients(
        tape.gradient(scaled_loss, tvars), optimizer)
    optimizer.apply_gradients(list(zip(grads, tvars)))
    self.process_metrics(metrics, inputs, outputs)
    logs = {self.loss: loss}
    extra = self.after_train_step(inputs, outputs, lm_losses, model, metrics)
    if extra:
      logs.update(extra)
    return logs
