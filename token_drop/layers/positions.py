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

"""Writing per-position results back into a full-length sequence.

Token dropping (kept tokens rejoin the pre-drop states) and NarrowBERT (narrow
positions rejoin the full-length context, narrow logits fill a [seq] grid)
both compute on a subset of positions gathered with
`tf.gather(x, positions, batch_dims=1)` and write the results back here.
"""

import tensorflow as tf


def scatter_positions(sequence: tf.Tensor, positions: tf.Tensor,
                      updates: tf.Tensor) -> tf.Tensor:
  """`sequence` with `updates` [batch, n, ...] written at `positions`.

  With duplicate positions the updates must be identical (true for narrow
  layers and for token dropping's kept positions, which are distinct), since
  the write order is not defined.

  Args:
    sequence: [batch, seq, ...] tensor.
    positions: int32 [batch, n] positions along axis 1.
    updates: [batch, n, ...] values.

  Returns:
    A tensor shaped like `sequence`.
  """
  batch_index = tf.broadcast_to(
      tf.range(tf.shape(positions)[0], dtype=positions.dtype)[:, tf.newaxis],
      tf.shape(positions))
  index = tf.stack([batch_index, positions], axis=-1)
  return tf.tensor_scatter_nd_update(sequence, index,
                                     tf.cast(updates, sequence.dtype))
