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

"""The private tfm/tf_keras/orbit attributes token_drop.compat relies on exist.

One test per class of `compat.PRIVATE_ATTRIBUTES`, on real (tiny) objects of
the installed versions, so that an upgrade breaking the seam fails here,
naming the versions, rather than deep inside a training run.
"""

import inspect

import orbit
import pytest
import tensorflow as tf
import tf_keras

from official.core import base_trainer
from official.core import config_definitions as cfg
from official.core import exp_factory
from official.modeling.hyperparams import params_dict
from official.nlp.modeling import layers
from official.nlp.modeling import networks
from token_drop import compat

try:
  from importlib import metadata
  _TFM_VERSION = metadata.version('tf-models-official')
except Exception:  # pylint: disable=broad-except
  _TFM_VERSION = 'unknown'

_VERSIONS = (f'tf-models-official {_TFM_VERSION}, tensorflow {tf.__version__}, '
             f'tf_keras {tf_keras.__version__}')


def _assert_has(obj, what):
  missing = [name for name in compat.PRIVATE_ATTRIBUTES[what]
             if not hasattr(obj, name)]
  assert not missing, (
      f'{what} of the installed {_VERSIONS} lacks {missing}, which '
      'token_drop/compat.py reads: update the functions there that use them.')


@pytest.fixture(scope='module')
def encoder():
  enc = networks.BertEncoderV2(
      vocab_size=11, hidden_size=8, num_layers=1, num_attention_heads=2,
      inner_dim=16, max_sequence_length=6)
  ids = tf.ones((1, 4), tf.int32)
  enc(dict(input_word_ids=ids, input_mask=ids, input_type_ids=ids * 0))
  return enc


def test_bert_encoder_v2(encoder):
  _assert_has(encoder, 'BertEncoderV2')
  assert isinstance(compat.encoder_config(encoder), dict)
  sublayers = compat.encoder_embedding_sublayers(encoder)
  assert sublayers.word is encoder.get_embedding_layer()
  assert sublayers.projection is None  # embedding_width == hidden_size.


def test_position_embedding(encoder):
  position = compat.encoder_embedding_sublayers(encoder).position
  assert isinstance(position, layers.PositionEmbedding)
  _assert_has(position, 'PositionEmbedding')
  assert compat.position_embedding_table(position).shape == (6, 8)


@pytest.mark.parametrize('norm_first', [False, True])
def test_transformer_encoder_block(norm_first):
  block = layers.TransformerEncoderBlock(
      num_attention_heads=2, inner_dim=16, inner_activation='gelu',
      norm_first=norm_first)
  block(tf.zeros((1, 3, 8)))
  _assert_has(block, 'TransformerEncoderBlock')
  assert compat.block_sublayers(block).norm_first is norm_first


def test_multi_head_attention(encoder):
  attention = compat.block_sublayers(encoder.transformer_layers[0]).attention
  assert isinstance(attention, tf_keras.layers.MultiHeadAttention)
  _assert_has(attention, 'MultiHeadAttention')
  assert compat.attention_sublayers(attention).key_dim == 4


def test_layer_tracking_switch():
  layer = tf_keras.layers.Layer()
  _assert_has(layer, 'Layer')
  compat.set_untracked_attribute(layer, 'plain', {'a': 1})
  assert type(layer.plain) is dict  # pylint: disable=unidiomatic-typecheck


def _one_update(optimizer):
  kernel = tf.Variable(tf.ones((2, 2)))
  optimizer.apply_gradients([(tf.ones((2, 2)), kernel)])
  return kernel


def test_new_style_optimizer():
  optimizer = tf_keras.optimizers.Adam()
  kernel = _one_update(optimizer)
  _assert_has(optimizer, 'Optimizer')
  assert compat.optimizer_is_built(optimizer)
  slots = compat.optimizer_slot_lists(optimizer, kernel)
  assert sorted(slots) == ['_momentums', '_velocities']


def test_legacy_optimizer():
  optimizer = tf_keras.optimizers.legacy.Adam()
  _one_update(optimizer)
  _assert_has(optimizer, 'LegacyOptimizer')
  assert compat.legacy_optimizer_has_slots(optimizer)


def test_yaml_loader_and_restrictions():
  _assert_has(params_dict, 'params_dict')
  assert compat.yaml_load('lr: 1e-4') == {'lr': 1e-4}  # A float, as in tfm.
  config = params_dict.ParamsDict({'a': 1}, restrictions=['a > 0'])
  _assert_has(config, 'ParamsDict')
  assert compat.config_restrictions(config) == ['a > 0']


def test_experiment_registry():
  _assert_has(exp_factory, 'exp_factory')
  factories = compat.registered_config_factories()
  family = 'compat_test'
  assert family not in factories
  exp_factory.register_config_factory(f'{family}/experiment')(
      lambda: cfg.ExperimentConfig(trainer=cfg.TrainerConfig(train_steps=1)))
  try:
    assert callable(factories[family]['experiment'])
    previous = compat.replace_config_factory(
        f'{family}/experiment',
        lambda: cfg.ExperimentConfig(trainer=cfg.TrainerConfig(train_steps=2)))
    assert previous().trainer.train_steps == 1
    assert exp_factory.get_exp_config(
        f'{family}/experiment').trainer.train_steps == 2
    with pytest.raises(KeyError):
      compat.replace_config_factory(f'{family}/no_such_experiment', dict)
  finally:
    del factories[family]


def test_trainer_checkpoint_attribute():
  # base_trainer.Trainer needs a task to build; its `checkpoint` property is
  # what reads the attribute compat.set_trainer_checkpoint writes.
  source = inspect.getsource(base_trainer.Trainer.checkpoint.fget)
  for name in compat.PRIVATE_ATTRIBUTES['Trainer']:
    assert f'self.{name}' in source, (
        f'base_trainer.Trainer.checkpoint of the installed {_VERSIONS} no '
        f'longer returns self.{name}; update compat.set_trainer_checkpoint.')


def test_controller_private_hooks():
  _assert_has(orbit.Controller, 'Controller')


def test_checkpoint_root_names(tmp_path):
  path = tf.train.Checkpoint(encoder=tf.Module(), step=tf.Variable(1)).write(
      str(tmp_path / 'ckpt'))
  assert sorted(compat.checkpoint_root_names(path)) == ['encoder', 'step']


def test_sublayer_getters_read_only_listed_attributes():
  for what, attributes in (
      ('BertEncoderV2', compat._EMBEDDING_SUBLAYERS),  # pylint: disable=protected-access
      ('TransformerEncoderBlock', compat._BLOCK_SUBLAYERS),  # pylint: disable=protected-access
      ('MultiHeadAttention', compat._ATTENTION_SUBLAYERS)):  # pylint: disable=protected-access
    unlisted = set(attributes.values()) - set(compat.PRIVATE_ATTRIBUTES[what])
    assert not unlisted, (what, unlisted)


def test_every_listed_class_is_tested():
  tested = {'BertEncoderV2', 'PositionEmbedding', 'TransformerEncoderBlock',
            'MultiHeadAttention', 'Layer', 'Optimizer', 'LegacyOptimizer',
            'params_dict', 'ParamsDict', 'exp_factory', 'Trainer',
            'Controller'}
  assert set(compat.PRIVATE_ATTRIBUTES) == tested
