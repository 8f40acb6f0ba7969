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

"""Finding the checkpoint a path names, and checking what it holds.

Every reader of checkpoints in this package (teachers, `init_classifier`, the
tools) takes either a checkpoint prefix or a folder whose latest checkpoint
is meant; this is the one place that resolves them. `check_encoder_init`
checks a fine-tuning run's `task.init_checkpoint` against the built encoder.
"""

import os
import tempfile
from typing import Dict, List, Optional, Set, Tuple, Type

from absl import logging
import tensorflow as tf

from tensorflow.core.protobuf import trackable_object_graph_pb2
from token_drop.core import errors



class InitCheckpointError(errors.UserError):
  """`task.init_checkpoint` does not hold what the task was told to restore."""


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
  expected = ('expected a checkpoint prefix (e.g. RUN/ckpt-100) or a folder '
              'holding one (a model_dir)')
  if path and tf.io.gfile.isdir(path):
    raise error(f'{what}={path!r}: the folder has no checkpoint; {expected}.')
  raise error(f'{what}={path!r}: no checkpoint ({path}.index does not '
              f'exist); {expected}.')


def _encoder_variables(path: str) -> Dict[str, Tuple[Set[str], List[int]]]:
  """Variables under the checkpoint's `encoder` item, with all their paths.

  Paths are taken in the object graph from the `encoder` node, not from the
  checkpoint keys, and every path to a variable is kept: a variable can be
  reachable under several names (tfm's functional `bert` encoder tracks its
  layers as `layer_with_weights-N` and as `_embedding_layer`, ...; the word
  embeddings are shared with `masked_lm`), and TensorFlow restores through
  any of them.

  Returns:
    checkpoint key -> (its paths below `encoder`, its shape).
  """
  reader = tf.train.load_checkpoint(path)
  graph = trackable_object_graph_pb2.TrackableObjectGraph()
  graph.ParseFromString(reader.get_tensor('_CHECKPOINTABLE_OBJECT_GRAPH'))
  shapes = reader.get_variable_to_shape_map()
  starts = [c.node_id for c in graph.nodes[0].children
            if c.local_name == 'encoder']
  if not starts:
    return {}
  found = {}
  queue = [(starts[0], 'encoder', frozenset([starts[0]]))]
  while queue:
    node_id, node_path, seen = queue.pop(0)
    node = graph.nodes[node_id]
    for attribute in node.attributes:
      if attribute.name == 'VARIABLE_VALUE':
        paths, _ = found.setdefault(
            attribute.checkpoint_key,
            (set(), shapes.get(attribute.checkpoint_key, [])))
        paths.add(node_path)
    for child in node.children:
      # Optimizer slots hang below variables; cycles are cut by `seen`.
      if child.node_id not in seen and not child.local_name.startswith('.'):
        queue.append((child.node_id, f'{node_path}/{child.local_name}',
                      seen | {child.node_id}))
  return found


def _layer_count(variables: Dict[str, Tuple[Set[str], List[int]]]) -> int:
  """Transformer layers among the variables (one attention query each)."""
  return sum(1 for paths, _ in variables.values()
             if any(p.endswith('/_attention_layer/_query_dense/kernel')
                    for p in paths))


def _short(keys: Set[str], count: int = 3) -> List[str]:
  return sorted(keys)[:count]


def _build(encoder: tf.Module) -> bool:
  """Creates a subclassed encoder's variables with a dummy call, if it can."""
  ids = tf.zeros([1, 8], tf.int32)
  try:
    encoder(dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
                 input_type_ids=ids), training=False)
  except Exception:  # pylint: disable=broad-except
    return False
  return bool(encoder.variables)


def check_encoder_init(encoder: tf.Module, init_checkpoint: str,
                       partial: bool = False,
                       key: str = 'task.init_checkpoint') -> Optional[str]:
  """Raises `InitCheckpointError` unless the checkpoint fits the encoder.

  tfm restores `task.init_checkpoint` into the encoder with `expect_partial`,
  so a checkpoint of a deeper model (e.g. 4 layers into 2) or one that
  leaves some encoder variables at their random initial values loads with
  "Finished loading pretrained checkpoint". The encoder's own checkpoint
  keys (written once to a temporary folder) are compared with the
  checkpoint's `encoder/` keys.

  Args:
    encoder: The built encoder (its variables exist).
    init_checkpoint: Checkpoint prefix or model_dir; empty means none.
    partial: Allow unmatched variables either way (the user says so with
      `task.init_checkpoint_partial: true`); a missing checkpoint is still
      an error.
    key: The config key that named the checkpoint, for the messages.

  Returns:
    The checkpoint prefix, or None if `init_checkpoint` is empty.
  """
  if not init_checkpoint:
    return None
  path = resolve_checkpoint(init_checkpoint, key, InitCheckpointError)
  found_vars = _encoder_variables(path)
  if not found_vars:
    raise InitCheckpointError(
        f'{key}={path!r} has no `encoder` item; expected a pretraining '
        'model_dir or an import_hf output folder.')
  if not encoder.variables and not _build(encoder):
    logging.warning('%s: not checked against the encoder, which creates its '
                    'variables on first use only.', key)
    return path
  with tempfile.TemporaryDirectory() as tmp:
    own_vars = _encoder_variables(tf.train.Checkpoint(encoder=encoder).write(
        os.path.join(tmp, 'encoder')))
  by_path = {p: k for k, (paths, _) in found_vars.items() for p in paths}
  matched = set()
  missing = set()
  for paths, shape in own_vars.values():
    keys = {by_path[p] for p in paths if p in by_path}
    if not keys:
      missing.add(min(paths))
      continue
    found_key = min(keys)
    matched.add(found_key)
    if list(found_vars[found_key][1]) != list(shape):
      raise InitCheckpointError(
          f'{key}={path!r} does not fit task.model.encoder: {min(paths)} has '
          f'shape {found_vars[found_key][1]} in the checkpoint, {shape} in '
          'the model. Use the encoder config of the run that wrote it.')
  extra = {min(found_vars[k][0]) for k in set(found_vars) - matched}
  if partial or not (missing or extra):
    return path
  layers_found, layers_own = _layer_count(found_vars), _layer_count(own_vars)
  if layers_found != layers_own:
    what = (f'the checkpoint holds {layers_found} transformer layers, the '
            f'model {layers_own}')
  elif missing:
    what = (f'{len(missing)} of the model\'s {len(own_vars)} encoder '
            f'variables are not in it, e.g. {_short(missing)}')
  else:
    what = (f'{len(extra)} of its encoder variables have no place in the '
            f'model, e.g. {_short(extra)}')
  raise InitCheckpointError(
      f'{key}={path!r} does not fit task.model.encoder: {what}. Use the '
      'encoder config of the run that wrote it, or set '
      'task.init_checkpoint_partial: true to load the matching part only.')
