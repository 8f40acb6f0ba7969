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

"""Chooses the positions that stay in the token-dropping layers.

Static shapes throughout (a top-k with a Python `keep_k`), so the selection
compiles under XLA and on TPU; the kept positions come back in ascending
order, so gathered sequences keep their original token order.
"""

from typing import Sequence

import tensorflow as tf
import tf_keras

# Scores that override the importance table. Allowed ids rank above every
# importance value, denied ids below, padding (input_mask == 0) lowest.
_ALLOW_SCORE = 3.0e38
_DENY_SCORE = -3.0e38
_PAD_SCORE = float('-inf')


@tf_keras.utils.register_keras_serializable(package='TokenDrop')
class TokenSelector(tf_keras.layers.Layer):
  """Returns the `keep_k` most important positions of each sequence.

  Ids in `allow_list` are always kept (if there are at most `keep_k` of
  them), ids in `deny_list` and padding positions are dropped first. Ties
  (e.g. ids never predicted, all at the table's init value) go to the earlier
  position, deterministically.

  Args:
    keep_k: Number of positions to keep (static).
    allow_list: Vocabulary ids that are always kept ([UNK], [CLS], [SEP],
      [MASK] in the BERT uncased vocabulary).
    deny_list: Vocabulary ids dropped first ([PAD]).
  """

  def __init__(self, keep_k: int, allow_list: Sequence[int] = (),
               deny_list: Sequence[int] = (), **kwargs):
    kwargs['dtype'] = 'float32'
    super().__init__(**kwargs)
    if keep_k < 1:
      raise ValueError(f'token_keep_k must be >= 1, got {keep_k}.')
    overlap = set(allow_list) & set(deny_list)
    if overlap:
      raise ValueError('token_allow_list and token_deny_list share ids '
                       f'{sorted(overlap)}; an id cannot be both.')
    self._keep_k = int(keep_k)
    self._allow_list = tuple(int(i) for i in allow_list)
    self._deny_list = tuple(int(i) for i in deny_list)

  @property
  def keep_k(self) -> int:
    return self._keep_k

  def scores(self, importance: tf.Tensor, word_ids: tf.Tensor,
             input_mask: tf.Tensor) -> tf.Tensor:
    """Importance with the allow/deny/padding overrides applied."""
    scores = tf.cast(importance, tf.float32)
    for ids, value in ((self._deny_list, _DENY_SCORE),
                       (self._allow_list, _ALLOW_SCORE)):
      if ids:
        hit = tf.reduce_any(
            tf.equal(word_ids[..., tf.newaxis],
                     tf.constant(ids, dtype=word_ids.dtype)), axis=-1)
        scores = tf.where(hit, value, scores)
    return tf.where(tf.cast(input_mask, tf.bool), scores, _PAD_SCORE)

  def call(self, importance: tf.Tensor, word_ids: tf.Tensor,
           input_mask: tf.Tensor) -> tf.Tensor:
    """Kept positions.

    Args:
      importance: float [batch, seq_length] importance of each position.
      word_ids: int [batch, seq_length] vocabulary ids.
      input_mask: int [batch, seq_length], 0 at padding.

    Returns:
      int32 [batch, keep_k] kept positions, ascending.
    """
    seq_length = word_ids.shape[-1]
    if seq_length is not None and self._keep_k > seq_length:
      raise ValueError(
          f'token_keep_k={self._keep_k} is larger than the sequence length '
          f'{seq_length}; set token_keep_k <= seq_length.')
    scores = self.scores(importance, word_ids, input_mask)
    # top_k breaks ties towards the lower index, so selection is reproducible.
    _, kept = tf.math.top_k(scores, k=self._keep_k, sorted=True)
    return tf.sort(tf.cast(kept, tf.int32), axis=-1)

  def get_config(self):
    config = super().get_config()
    config.update({
        'keep_k': self._keep_k,
        'allow_list': list(self._allow_list),
        'deny_list': list(self._deny_list),
    })
    return config
