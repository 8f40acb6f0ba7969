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

"""Tests for token_drop.tasks.loss_scaling.

The train steps that use it are tested under a loss scale in
tests/tasks/test_sparse_bert_task.py and test_token_drop_task.py.
"""

import tensorflow as tf
import tf_keras

from token_drop.tasks import loss_scaling


def test_scale_and_unscale():
  optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
      tf_keras.optimizers.SGD(0.1), dynamic=False, initial_scale=8.)
  loss = tf.constant(3.0)
  assert float(loss_scaling.scale_loss(loss, optimizer)) == 24.0
  assert float(loss_scaling.scale_loss(loss, tf_keras.optimizers.SGD())) == 3.0
  (grad,) = loss_scaling.unscale_gradients([tf.constant(16.0)], optimizer)
  assert float(grad) == 2.0
