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

"""TokenImportance (moving-average table) and TokenSelector (top-k routing)."""

import numpy as np
import pytest
import tensorflow as tf

from token_drop.layers import token_importance
from token_drop.layers import token_selection
from token_drop.testing import distribute

BETA = 0.9
INIT = 10.0


def _table(vocab=8):
  layer = token_importance.TokenImportance(vocab, init_value=INIT, beta=BETA)
  layer.build()
  return layer


def test_padding_slots_update_nothing():
  layer = _table()
  ids = tf.constant([[3, 0, 0], [5, 3, 0]])
  losses = tf.constant([[2.0, 7.0, np.nan], [4.0, 2.0, np.inf]])
  weights = tf.constant([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
  table = layer.update(ids, losses, weights).numpy()
  want = np.full(8, INIT, np.float32)
  want[3] = BETA * INIT + (1 - BETA) * 2.0
  want[5] = BETA * INIT + (1 - BETA) * 4.0
  np.testing.assert_allclose(table, want, rtol=1e-6)
  assert table[0] == INIT  # id 0 only occurred in weight-0 slots


def test_repeated_id_gets_one_update_from_its_mean_loss():
  layer = _table()
  ids = tf.constant([2, 2, 2, 4])
  losses = tf.constant([1.0, 2.0, 6.0, 5.0])
  table = layer.update(ids, losses).numpy()
  assert table[2] == pytest.approx(BETA * INIT + (1 - BETA) * 3.0, rel=1e-6)
  # Order of occurrences does not matter.
  other = _table()
  perm = [3, 2, 0, 1]
  np.testing.assert_array_equal(
      other.update(tf.gather(ids, perm), tf.gather(losses, perm)).numpy(),
      table)
  # A second step moves from the updated value.
  table = layer.update(tf.constant([2]), tf.constant([0.0])).numpy()
  assert table[2] == pytest.approx(BETA * (BETA * INIT + (1 - BETA) * 3.0),
                                   rel=1e-6)


def test_mirrored_replicas_end_with_the_same_all_reduced_table():
  strategy = distribute.two_cpu_mirrored_strategy()
  with strategy.scope():
    layer = _table()
    layer.build()
  per_replica = {0: ([1, 2, 2], [1.0, 3.0, 5.0], [1.0, 1.0, 1.0]),
                 1: ([2, 6, 0], [8.0, 4.0, 9.0], [1.0, 1.0, 0.0])}

  def values(ctx):
    ids, losses, weights = per_replica[ctx.replica_id_in_sync_group]
    return (tf.constant(ids), tf.constant(losses), tf.constant(weights))

  data = strategy.experimental_distribute_values_from_function(values)

  @tf.function
  def step(data):
    def fn(ids, losses, weights):
      layer.update(ids, losses, weights)
    strategy.run(fn, args=data)

  step(data)
  copies = [v.numpy() for v in
            strategy.experimental_local_results(layer.table)]
  assert len(copies) == 2
  np.testing.assert_array_equal(copies[0], copies[1])
  want = np.full(8, INIT, np.float32)
  want[1] = BETA * INIT + (1 - BETA) * 1.0
  want[2] = BETA * INIT + (1 - BETA) * (3.0 + 5.0 + 8.0) / 3
  want[6] = BETA * INIT + (1 - BETA) * 4.0
  np.testing.assert_allclose(copies[0], want, rtol=1e-6)


def test_table_stays_float32_under_mixed_precision():
  layer = token_importance.TokenImportance(4, dtype='mixed_bfloat16')
  layer.build()
  assert layer.table.dtype == tf.float32
  assert layer(tf.constant([1, 2])).dtype == tf.float32


def test_selector_allow_deny_padding_and_ties():
  selector = token_selection.TokenSelector(keep_k=3, allow_list=(7,),
                                           deny_list=(0,))
  ids = tf.constant([[7, 5, 5, 5, 0, 5], [4, 0, 3, 2, 1, 9]])
  mask = tf.constant([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]])
  importance = tf.constant([[0.0, 1.0, 1.0, 1.0, 99.0, 99.0],
                            [1.0, 50.0, 3.0, 2.0, 5.0, 4.0]])
  kept = selector(importance, ids, mask).numpy()
  # Row 0: allowed id first, ties among equal ids go to earlier positions,
  # the denied id and the padded position lose despite importance 99.
  np.testing.assert_array_equal(kept[0], [0, 1, 2])
  np.testing.assert_array_equal(kept[1], [2, 4, 5])


def test_selector_reports_keep_k_above_sequence_length():
  selector = token_selection.TokenSelector(keep_k=4)
  with pytest.raises(ValueError, match='token_keep_k=4'):
    selector(tf.zeros([1, 3]), tf.zeros([1, 3], tf.int32),
             tf.ones([1, 3], tf.int32))
