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
