"""Test setup shared by the suite.

The CPU is split into two logical devices before TensorFlow initialises, so
that tests can run MirroredStrategy over 2 replicas on a 2-core machine
without a GPU; single-device code keeps using /cpu:0.
"""

import os
import sys

import tensorflow as tf

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
for _path in (REPO_ROOT, TESTS_DIR):  # train.py and train_utils_for_tests.py
  if _path not in sys.path:
    sys.path.insert(0, _path)

_cpus = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)

