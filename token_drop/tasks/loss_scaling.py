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

"""Replica and float16 loss scaling for the package's own train steps.

tfm's `base_task.Task.train_step` divides the loss by the number of replicas
(the gradient all-reduce sums) and, when the optimizer is a
`LossScaleOptimizer` (runtime.mixed_precision_dtype=float16), scales the loss
before the backward pass and unscales the gradients after it. Train steps
that cannot reuse tfm's (they compute their own losses) call these two
functions instead of copying that logic.
"""

from typing import List

import tensorflow as tf
import tf_keras


def scale_loss(loss: tf.Tensor, optimizer, per_replica: bool = True
              ) -> tf.Tensor:
  """The loss to differentiate; call it inside the GradientTape.

  Args:
    loss: The replica's loss.
    optimizer: The optimizer the gradients go to.
    per_replica: Divide by the number of replicas in sync.

  Returns:
    The loss scaled for the replica sum and, for a LossScaleOptimizer, by its
    current loss scale.
  """
  if per_replica:
    loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
  if isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer):
    loss = optimizer.get_scaled_loss(loss)
  return loss


def unscale_gradients(grads: List[tf.Tensor], optimizer) -> List[tf.Tensor]:
  """Undoes a LossScaleOptimizer's loss scale on the gradients."""
  if isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer):
    return optimizer.get_unscaled_gradients(grads)
  return grads
