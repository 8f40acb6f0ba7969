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

"""A failed start leaves the model_dir as it was (token_drop.core.model_dir).

The slow tests run train.py on a 2-step tiny BERT trained once per module
and copied per test.
"""

import glob
import hashlib
import os
import shutil

import pytest
import tensorflow as tf

from official.core import exp_factory
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from token_drop.core import model_dir as model_dir_lib
from token_drop.testing import train_utils as tu


def _tiny_override(hidden_size=32, num_layers=2, train_steps=2, extra=''):
  override = tu.tiny_pretrain_override(train_steps=train_steps,
                                       steps_per_loop=2, extra=extra)
  return override.replace(
      'encoder.bert.hidden_size=32',
      f'encoder.bert.hidden_size={hidden_size}').replace(
          'encoder.bert.num_layers=2', f'encoder.bert.num_layers={num_layers}')


def _snapshot(model_dir):
  """Relative path -> sha256 of every file under model_dir."""
  files = {}
  for root, _, names in os.walk(model_dir):
    for name in names:
      path = os.path.join(root, name)
      with open(path, 'rb') as f:
        files[os.path.relpath(path, model_dir)] = hashlib.sha256(
            f.read()).hexdigest()
  return files


def _error_lines(result):
  return [line for line in result.stderr.splitlines()
          if line.startswith('error:')]


@pytest.fixture(scope='module')
def trained_dir(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp('trained') / 'run')
  result = tu.run_train(model_dir, override=_tiny_override(), mode='train')
  assert result.returncode == 0, result.stderr[-3000:]
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-2')
  return model_dir


@pytest.fixture
def model_dir(trained_dir, tmp_path):
  copy = str(tmp_path / 'run')
  shutil.copytree(trained_dir, copy)
  return copy


def _config(hidden_size=32, train_steps=2):
  params = exp_factory.get_exp_config('bert/pretraining')
  params.override({'task': {'model': {'encoder': {'type': 'bert', 'bert': {
      'hidden_size': hidden_size}}}},
                   'trainer': {'train_steps': train_steps}},
                  is_strict=False)
  return params


def test_model_differences_names_keys_and_both_values(tmp_path):
  model_dir = str(tmp_path)
  model_dir_lib.save_params(_config(hidden_size=64), model_dir)
  assert model_dir_lib.model_differences(
      model_dir, _config(hidden_size=32, train_steps=9)) == [
          'task.model.encoder.bert.hidden_size 64 in the checkpoint, 32 in '
          'the config']


def test_remove_temp_checkpoints_keeps_finished_ones(tmp_path):
  model_dir = str(tmp_path)
  os.makedirs(os.path.join(model_dir, 'ckpt-3_temp'))
  with open(os.path.join(model_dir, 'ckpt-3_temp', 'part-00000-of-00001'),
            'w') as f:
    f.write('partial')
  with open(os.path.join(model_dir, 'ckpt-2.index'), 'w') as f:
    f.write('kept')
  removed = model_dir_lib.remove_temp_checkpoints(model_dir)
  assert removed == [os.path.join(model_dir, 'ckpt-3_temp')]
  assert sorted(os.listdir(model_dir)) == ['ckpt-2.index']


def test_eval_without_checkpoint_is_an_error(tmp_path):
  with pytest.raises(model_dir_lib.ModelDirError, match=str(tmp_path)):
    model_dir_lib.check_mode(str(tmp_path), 'eval')
  # continuous_eval waits for the train job's checkpoints, as in tfm.
  model_dir_lib.check_mode(str(tmp_path), 'continuous_eval')


@pytest.mark.slow
def test_named_error_leaves_model_dir_unchanged(model_dir):
  before = _snapshot(model_dir)
  # seq_length 32 > 16 positions: preflight's InputDataError.
  result = tu.run_train(model_dir, mode='train', override=_tiny_override(
      train_steps=4,
      extra='task.model.encoder.bert.max_position_embeddings=16'))
  assert result.returncode != 0
  assert len(_error_lines(result)) == 1, result.stderr[-3000:]
  assert 'max_position_embeddings=16' in _error_lines(result)[0]
  assert _snapshot(model_dir) == before


@pytest.mark.slow
def test_resume_with_other_hidden_size_is_an_error(model_dir):
  before = _snapshot(model_dir)
  result = tu.run_train(model_dir, mode='train',
                        override=_tiny_override(hidden_size=64, train_steps=4))
  assert result.returncode != 0
  lines = _error_lines(result)
  assert len(lines) == 1, result.stderr[-3000:]
  assert ('task.model.encoder.bert.hidden_size 32 in the checkpoint, 64 in '
          'the config') in lines[0]
  assert model_dir in lines[0]
  assert _snapshot(model_dir) == before


@pytest.mark.slow
def test_resume_with_more_layers_is_an_error(model_dir):
  # Same shapes, but the config's third layer is not in the checkpoint.
  before = _snapshot(model_dir)
  result = tu.run_train(model_dir, mode='train',
                        override=_tiny_override(num_layers=3, train_steps=4))
  assert result.returncode != 0
  lines = _error_lines(result)
  assert len(lines) == 1, result.stderr[-3000:]
  assert ('task.model.encoder.bert.num_layers 2 in the checkpoint, 3 in '
          'the config') in lines[0]
  assert _snapshot(model_dir) == before


@pytest.mark.slow
def test_resume_keeps_params_and_removes_temp_checkpoints(model_dir):
  params_path = os.path.join(model_dir, 'params.yaml')
  with open(params_path, 'rb') as f:
    original = f.read()
  # What a save killed mid-write leaves behind.
  os.makedirs(os.path.join(model_dir, 'ckpt-3_temp'))
  with open(os.path.join(model_dir, 'ckpt-3_temp', 'part-00000-of-00001'),
            'w') as f:
    f.write('partial')
  # Dropout may change on resume: same variables.
  result = tu.run_train(model_dir, mode='train', override=_tiny_override(
      train_steps=4, extra='task.model.encoder.bert.dropout_rate=0.0'))
  assert result.returncode == 0, result.stderr[-3000:]
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-4')
  assert not os.path.exists(os.path.join(model_dir, 'ckpt-3_temp'))
  with open(params_path, 'rb') as f:
    assert f.read() == original
  dated = glob.glob(os.path.join(model_dir, 'params_*.yaml'))
  assert len(dated) == 1, os.listdir(model_dir)
  with open(dated[0]) as f:
    saved = f.read()
  assert 'train_steps: 4' in saved and 'dropout_rate: 0.0' in saved
  assert 'train_steps: 2' in original.decode()


@pytest.mark.slow
def test_eval_on_empty_model_dir_exits_with_one_error_line(tmp_path):
  model_dir = str(tmp_path / 'empty')
  os.makedirs(model_dir)
  result = tu.run_train(model_dir, mode='eval', override=_tiny_override())
  assert result.returncode != 0
  lines = _error_lines(result)
  assert len(lines) == 1, result.stderr[-3000:]
  assert model_dir in lines[0]
  assert 'final validation metrics' not in result.stdout
  assert os.listdir(model_dir) == []


def test_resuming_an_upstream_token_drop_run_points_to_init_checkpoint(
    tmp_path):
  # An upstream-style checkpoint: its table under `_token_importance_embed`,
  # no variables of this package's model.
  upstream = tf.Module()
  upstream.encoder = tf.Module()
  upstream.encoder._token_importance_embed = tf.Module()  # pylint: disable=protected-access
  upstream.encoder._token_importance_embed.importance_embed = tf.Variable(  # pylint: disable=protected-access
      tf.fill([8], 10.0))
  path = tf.train.Checkpoint(model=upstream).save(str(tmp_path / 'ckpt'))
  ours = tf.Module()
  ours.table = tf.Variable(tf.zeros([8]))
  config = exp_factory.get_exp_config('token_drop_bert/pretraining')
  with pytest.raises(model_dir_lib.ModelDirError,
                     match='upstream token_dropping.*task.init_checkpoint='
                     + path):
    model_dir_lib.check_checkpoint_matches(ours, str(tmp_path), config)
