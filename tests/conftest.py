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

"""Test setup and fixtures shared by the suite.

The CPU is split into two logical devices before TensorFlow initialises, so
that tests can run MirroredStrategy over 2 replicas on a 2-core machine
without a GPU; single-device code keeps using /cpu:0.

Helpers shared by test modules live in `token_drop.testing` (imported by
package name: no test module imports another, and nothing here changes
sys.path). Tests that start a process, train more than a few steps,
compile an encoder with XLA or export a SavedModel are marked `slow`
(pytest.ini); `python -m pytest -q -m "not slow"` skips them, and
`token_drop.testing.tiers` keeps the first case of such parametrized tests
in that quick tier.
"""

import pytest
import tensorflow as tf

from token_drop.testing import distribute
from token_drop.testing import train_utils

_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)


@pytest.fixture(scope='session')
def repo_root() -> str:
  """The repository checkout under test (train.py, configs/, data/)."""
  return train_utils.REPO_ROOT


@pytest.fixture
def mirrored_strategy() -> tf.distribute.MirroredStrategy:
  """The suite's one MirroredStrategy over the two logical CPU devices."""
  return distribute.two_cpu_mirrored_strategy()
