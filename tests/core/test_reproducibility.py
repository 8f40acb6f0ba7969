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

"""Tests of runtime.seed: config widening, data seeds, weights and dropout."""

import numpy as np
import tensorflow as tf
import tf_keras

from official.core import config_definitions as cfg
from official.core import exp_factory
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from token_drop.core import config_parser
from token_drop.core import reproducibility


def _params():
  # experiments/ registers tfm's bert/pretraining with the seeded runtime.
  params = exp_factory.get_exp_config('bert/pretraining')
  assert isinstance(params.runtime, reproducibility.RuntimeConfig)
  return params


def test_upgrade_keeps_tfm_runtime_values_and_adds_the_seed():
  runtime = cfg.RuntimeConfig(distribution_strategy='one_device', num_gpus=0)
  upgraded = config_parser.upgrade(runtime, reproducibility.RuntimeConfig)
  assert upgraded.distribution_strategy == 'one_device'
  assert upgraded.num_gpus == 0
  assert upgraded.seed == reproducibility.DEFAULT_SEED
  assert upgraded.deterministic_ops is False
  assert upgraded.skip_consumed_input is True
  assert config_parser.upgrade(
      upgraded, reproducibility.RuntimeConfig) is upgraded


def test_runtime_seed_fills_unset_data_seeds_only():
  params = _params()
  params.runtime.seed = 7
  params.task.train_data.seed = None
  params.task.validation_data.seed = 3
  reproducibility.seed_data_configs(params)
  assert params.task.train_data.seed == 7
  assert params.task.validation_data.seed == 3


def test_no_runtime_seed_leaves_data_unseeded():
  params = _params()
  params.runtime.seed = None
  params.task.train_data.seed = None
  reproducibility.seed_data_configs(params)
  assert params.task.train_data.seed is None


def _model():
  inputs = tf_keras.Input(shape=(16,))
  hidden = tf_keras.layers.Dense(16)(inputs)
  outputs = tf_keras.layers.Dropout(0.5)(hidden)
  return tf_keras.Model(inputs, outputs)


def _build(seed):
  runtime = reproducibility.RuntimeConfig(seed=seed)
  reproducibility.configure(runtime)
  return _model()


def test_seed_fixes_weights_and_dropout_and_checkpoints_the_generators(
    tmp_path):
  x = tf.ones([4, 16])
  first, second = _build(11), _build(11)
  np.testing.assert_array_equal(first.get_weights()[0],
                                second.get_weights()[0])
  assert not np.array_equal(first.get_weights()[0],
                            _build(12).get_weights()[0])
  generators = reproducibility.random_generators(first)
  assert len(generators) == 1
  np.testing.assert_array_equal(first(x, training=True),
                                second(x, training=True))

  # The generator's state in a checkpoint: a restored model draws the mask
  # the original draws next, not its first mask again.
  path = tf.train.Checkpoint(generators=generators).save(
      str(tmp_path / 'ckpt'))
  expected = first(x, training=True).numpy()
  restored = _build(11)
  tf.train.Checkpoint(
      generators=reproducibility.random_generators(restored)).restore(path)
  restored.set_weights(first.get_weights())
  np.testing.assert_array_equal(restored(x, training=True), expected)
  unrestored = _build(11)
  assert not np.array_equal(unrestored(x, training=True), expected)
  assert not np.array_equal(second(x, training=True), second(x, training=True))
