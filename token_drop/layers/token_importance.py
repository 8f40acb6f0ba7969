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

"""Per-vocabulary-id token importance: a moving average of the MLM loss.

Token dropping (Hou et al., ACL 2022, arXiv 2203.13240) ranks the tokens of a
sequence by how hard their vocabulary id has been to predict so far. The table
holds one float per id, starts at `init_value`, and after every training step
moves towards the mean masked-LM loss of that id in the step's batch:
`new = beta * old + (1 - beta) * mean_loss`.

Compared with tfm's `TokenImportanceWithMovingAvg` (a scatter of every
prediction slot into the table):

* prediction slots with weight 0 (padding of `masked_lm_*`) update nothing;
* an id occurring several times in a batch gets one update, from the mean loss
  of its occurrences, instead of one racing scatter per occurrence (whose
  winner is unspecified);
* under a multi-replica strategy the per-id loss sums and counts are
  all-reduced before the update, so every replica ends the step with the same
  table, and the variable is aggregated with ONLY_FIRST_REPLICA so that the
  copies cannot drift apart even by float rounding.
"""

from typing import Optional

import tensorflow as tf
import tf_keras


@tf_keras.utils.register_keras_serializable(package='TokenDrop')
class TokenImportance(tf_keras.layers.Layer):
  """A non-trainable [vocab_size] table of moving-average MLM losses.

  Calling the layer on int ids returns their importance (float32, same shape).

  Args:
    vocab_size: Number of vocabulary ids.
    init_value: Importance of an id that was never predicted. High by default
      (10.0, above the loss of a trained model) so unseen ids are kept.
    beta: Moving-average factor; 0.995 in the paper.
  """

  def __init__(self, vocab_size: int, init_value: float = 10.0,
               beta: float = 0.995, **kwargs):
    # The table is float32 whatever the mixed-precision policy: bf16/fp16 would
    # round away the (1 - beta) * loss increments.
    kwargs['dtype'] = 'float32'
    super().__init__(**kwargs)
    if not 0.0 <= beta < 1.0:
      raise ValueError(f'token_loss_beta must be in [0, 1), got {beta}.')
    self._vocab_size = int(vocab_size)
    self._init_value = float(init_value)
    self._beta = float(beta)

  def build(self, input_shape=None):
    if self.built:
      return
    self._table = self.add_weight(
        name='importance',
        shape=(self._vocab_size,),
        dtype=tf.float32,
        initializer=tf_keras.initializers.Constant(self._init_value),
        trainable=False,
        synchronization=tf.VariableSynchronization.ON_WRITE,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    super().build(input_shape)

  @property
  def table(self) -> tf.Variable:
    """The [vocab_size] float32 importance variable."""
    self.build()
    return self._table

  @property
  def init_value(self) -> float:
    return self._init_value

  def call(self, token_ids: tf.Tensor) -> tf.Tensor:
    return tf.gather(self._table, token_ids)

  def update(self, token_ids: tf.Tensor, losses: tf.Tensor,
             weights: Optional[tf.Tensor] = None) -> tf.Tensor:
    """Moves the importance of the predicted ids towards their mean loss.

    Call it once per training step, in replica context (inside
    `strategy.run`, as tfm's train_step is) or outside any strategy.

    Args:
      token_ids: int [...] vocabulary ids of the predictions.
      losses: float [...] per-prediction losses (same shape).
      weights: Optional float [...] prediction weights; slots with weight <= 0
        (padding) are ignored.

    Returns:
      The updated table.
    """
    self.build()
    ids = tf.reshape(tf.cast(token_ids, tf.int32), [-1])
    losses = tf.reshape(tf.cast(losses, tf.float32), [-1])
    if weights is None:
      valid = tf.ones_like(losses, dtype=tf.bool)
    else:
      valid = tf.reshape(weights, [-1]) > 0
    # tf.where, not a product: a NaN/inf loss in a padding slot must not leak.
    losses = tf.where(valid, losses, 0.0)
    counts = tf.math.unsorted_segment_sum(
        tf.cast(valid, tf.float32), ids, self._vocab_size)
    sums = tf.math.unsorted_segment_sum(losses, ids, self._vocab_size)
    context = tf.distribute.get_replica_context()
    if context is not None and context.num_replicas_in_sync > 1:
      sums, counts = context.all_reduce(tf.distribute.ReduceOp.SUM,
                                        [sums, counts])
    mean_loss = tf.math.divide_no_nan(sums, counts)
    old = tf.convert_to_tensor(self._table)
    new = tf.where(counts > 0,
                   self._beta * old + (1.0 - self._beta) * mean_loss, old)
    return self._table.assign(new)

  def get_config(self):
    config = super().get_config()
    config.update({
        'vocab_size': self._vocab_size,
        'init_value': self._init_value,
        'beta': self._beta,
    })
    return config
