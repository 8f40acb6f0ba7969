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
