"""The suite's shared MirroredStrategy over two logical CPU devices.

The devices are made by tests/conftest.py before TensorFlow initialises.
"""

import tensorflow as tf

_MIRRORED = []


def two_cpu_mirrored_strategy() -> tf.distribute.MirroredStrategy:
  """The suite's one MirroredStrategy over the two logical CPU devices.

  Several MirroredStrategy objects in one process can collide on collective
  instance keys (an all-reduce then sees another op's shape), so every test
  shares one, reducing through one device rather than with collectives.
  """
  if not _MIRRORED:
    _MIRRORED.append(tf.distribute.MirroredStrategy(
        ['/cpu:0', '/cpu:1'],
        cross_device_ops=tf.distribute.ReductionToOneDevice()))
  return _MIRRORED[0]
