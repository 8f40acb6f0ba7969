"""Finding the checkpoint a path names (a file prefix or a model_dir).

Every reader of checkpoints in this package (teachers, `init_classifier`, the
tools) takes either a checkpoint prefix or a folder whose latest checkpoint
is meant; this is the one place that resolves them.
"""

from typing import Optional, Type

import tensorflow as tf


def find_checkpoint(path: str) -> Optional[str]:
  """The checkpoint prefix `path` names, or None if there is none.

  Args:
    path: A checkpoint prefix or a folder (its latest checkpoint); may be
      empty.

  Returns:
    The prefix, or None.
  """
  if not path:
    return None
  if tf.io.gfile.isdir(path):
    return tf.train.latest_checkpoint(path)
  if tf.io.gfile.exists(path + '.index'):
    return path
  return None


def resolve_checkpoint(path: str, what: str = '--checkpoint',
                       error: Type[Exception] = ValueError) -> str:
  """Like `find_checkpoint`, but raises `error` naming `what` if none.

  Args:
    path: A checkpoint prefix or a folder (its latest checkpoint).
    what: How the user gave `path` (a flag or config key), for the message.
    error: The exception class to raise.

  Returns:
    The checkpoint prefix.
  """
  found = find_checkpoint(path)
  if found:
    return found
  if path and tf.io.gfile.isdir(path):
    raise error(f'{what}={path!r}: the folder has no checkpoint.')
  raise error(f'{what}={path!r}: no checkpoint ({path}.index does not '
              'exist).')
