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
