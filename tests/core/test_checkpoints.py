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

"""Tests for token_drop.core.checkpoints."""

import pytest
import tensorflow as tf

from token_drop.core import checkpoints


def test_prefix_folder_and_missing(tmp_path):
  empty = tmp_path / 'empty'
  empty.mkdir()
  assert checkpoints.find_checkpoint('') is None
  assert checkpoints.find_checkpoint(str(empty)) is None
  assert checkpoints.find_checkpoint(str(tmp_path / 'nope')) is None
  manager = tf.train.CheckpointManager(
      tf.train.Checkpoint(v=tf.Variable(1.0)), str(tmp_path / 'run'), 2)
  manager.save(checkpoint_number=1)
  latest = manager.save(checkpoint_number=2)
  assert checkpoints.find_checkpoint(str(tmp_path / 'run')) == latest
  assert checkpoints.resolve_checkpoint(latest) == latest
  with pytest.raises(KeyError, match=r"task.x='.*empty': the folder has no"):
    checkpoints.resolve_checkpoint(str(empty), 'task.x', KeyError)
  with pytest.raises(ValueError, match=r'--checkpoint=.*nope.index does not'):
    checkpoints.resolve_checkpoint(str(tmp_path / 'nope'))
