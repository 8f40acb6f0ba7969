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

"""Tests for token_drop.layers.positions."""

import numpy as np
import tensorflow as tf

from token_drop.layers import positions


def test_scatter_positions_matches_numpy():
  rng = np.random.default_rng(0)
  sequence = rng.normal(size=(2, 6, 3)).astype(np.float32)
  index = np.array([[4, 0, 2], [5, 1, 3]], np.int32)
  updates = rng.normal(size=(2, 3, 3)).astype(np.float32)
  expected = sequence.copy()
  for b in range(2):
    expected[b, index[b]] = updates[b]
  out = positions.scatter_positions(tf.constant(sequence), tf.constant(index),
                                    tf.constant(updates, tf.float16))
  assert out.dtype == tf.float32
  np.testing.assert_allclose(out.numpy(), expected, atol=1e-3)
