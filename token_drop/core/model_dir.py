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

"""Keeping a model_dir intact: checks before a run writes anything into it.

train.py runs these in order: `check_mode` (a writable folder; an eval needs
a checkpoint) before the model is built, `check_checkpoint_matches` (or, on
a fresh start, the fine-tuning `task.init_checkpoint`) after the model is
built and before orbit's Controller restores, `remove_temp_checkpoints` once
every check has passed, and `save_params` after the restore. A failed start (a
named error or a resume with a different model) therefore leaves params.yaml,
the checkpoints and everything else in the model_dir as they were.
"""

import datetime
import os
import tempfile
from typing import Any, Dict, List, Optional

from absl import logging
import tensorflow as tf

from official.core import train_utils
from official.modeling.hyperparams import params_dict
from official.nlp.tasks import sentence_prediction as tfm_sp
from official.nlp.tasks import tagging as tfm_tagging
from token_drop.core import checkpoints
from token_drop.core import errors

PARAMS_FILE = 'params.yaml'
# The layer of the upstream token_dropping encoder that holds its importance
# table, as named in its checkpoints.
UPSTREAM_TABLE = '_token_importance_embed'


class ModelDirError(errors.UserError):
  """The model_dir cannot be used with this config or mode."""


def check_usable(model_dir: str) -> None:
  """Raises `ModelDirError` if `model_dir` cannot be a writable folder.

  tfm would fail with a traceback when it first writes (summaries or a
  checkpoint), after the model was built and the data read. Paths of remote
  filesystems (`gs://...`) are left to them.

  Args:
    model_dir: The run's model_dir.
  """
  if not model_dir:
    raise ModelDirError('--model_dir is empty: expected a folder for '
                        'checkpoints and summaries.')
  if '://' in model_dir:
    return
  path = os.path.abspath(model_dir)
  if os.path.exists(path) and not os.path.isdir(path):
    raise ModelDirError(f'--model_dir {model_dir!r} is a file: expected a '
                        'folder (new or from an earlier run).')
  existing = path
  while not os.path.exists(existing):
    existing = os.path.dirname(existing)
  if not os.path.isdir(existing):
    raise ModelDirError(f'--model_dir {model_dir!r}: {existing!r} is a file, '
                        'so the folder cannot be created.')
  read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
  if read_only or not os.access(existing, os.W_OK | os.X_OK):
    raise ModelDirError(f'--model_dir {model_dir!r}: {existing!r} is not '
                        'writable; choose a folder you can write to.')


def check_mode(model_dir: str, mode: str) -> None:
  """Raises `ModelDirError` if model_dir is unusable, or eval has nothing.

  `check_usable` first; then, for `mode=eval`, a checkpoint is required: tfm
  would evaluate the freshly initialized model and report its metrics as if
  they were the run's. `continuous_eval` keeps tfm's behaviour: it waits for
  the train job's checkpoints.

  Args:
    model_dir: The run's model_dir.
    mode: The tfm mode.
  """
  check_usable(model_dir)
  if mode == 'eval' and not tf.train.latest_checkpoint(model_dir):
    raise ModelDirError(
        f'--mode=eval: model_dir {model_dir!r} has no checkpoint to evaluate '
        '(train first, or use --mode=continuous_eval to wait for one).')


def _flatten(value: Any, prefix: str) -> Dict[str, Any]:
  if isinstance(value, dict):
    flat = {}
    for key, item in value.items():
      flat.update(_flatten(item, f'{prefix}.{key}' if prefix else str(key)))
    return flat
  return {prefix: value}


def _params_as_dict(params) -> Dict[str, Any]:
  """`params` as params.yaml would store it (lists, not tuples)."""
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, PARAMS_FILE)
    params_dict.save_params_dict_to_yaml(params, path)
    return params_dict.read_yaml_to_params_dict(path).as_dict()


def _read_params(model_dir: str) -> Optional[Dict[str, Any]]:
  path = os.path.join(model_dir, PARAMS_FILE)
  if not tf.io.gfile.exists(path):
    return None
  try:
    return params_dict.read_yaml_to_params_dict(path).as_dict()
  except Exception:  # pylint: disable=broad-except
    logging.warning('%s is not readable; not comparing configs', path)
    return None


def model_differences(model_dir: str, params) -> List[str]:
  """The `task.model` keys whose values differ from the model_dir's params.

  Args:
    model_dir: A model_dir holding the params.yaml of an earlier run.
    params: The new `ExperimentConfig`.

  Returns:
    Lines like `task.model.encoder.bert.hidden_size 64 in the checkpoint, 32
    in the config`; empty if there is no params.yaml or no difference.
  """
  old = _read_params(model_dir)
  if old is None:
    return []
  old_model = _flatten(old.get('task', {}).get('model', {}), 'task.model')
  new_model = _flatten(_params_as_dict(params)['task'].get('model', {}),
                       'task.model')
  lines = []
  for key in sorted(set(old_model) | set(new_model)):
    before, after = old_model.get(key), new_model.get(key)
    if before != after:
      lines.append(f'{key} {before} in the checkpoint, {after} in the config')
  return lines


def check_checkpoint_matches(model: tf.Module, model_dir: str,
                             params) -> Optional[str]:
  """Raises `ModelDirError` if the latest checkpoint is of another model.

  Without a checkpoint to resume, checks `task.init_checkpoint` instead
  (`check_init_checkpoint`). Reads the checkpoint's `model` part into
  `model` (the Controller restores it again right after), which fails on a
  variable of another shape or a variable the checkpoint lacks (e.g. more
  layers in the config). The message lists the `task.model` keys that differ
  from the model_dir's params.yaml. Not detected: a checkpoint with more
  variables than the model (e.g. fewer layers in the config) whose other
  shapes match; the extra values are left unused, as tfm does.

  Args:
    model: The built model (its variables exist).
    model_dir: The run's model_dir.
    params: The new `ExperimentConfig`.

  Returns:
    The checked checkpoint path, or None if the model_dir has none.
  """
  path = tf.train.latest_checkpoint(model_dir)
  if not path:
    check_init_checkpoint(model, params)
    return None
  problem = None
  try:
    status = tf.train.Checkpoint(model=model).read(path)
    status.assert_existing_objects_matched()
    # The optimizer and step values are the Controller's to restore; without
    # this, each one would log a warning when `status` is deleted.
    status.expect_partial()
  except (ValueError, AssertionError, tf.errors.InvalidArgumentError) as e:
    problem = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
  if problem is None:
    return path
  differences = model_differences(model_dir, params)
  what = '; '.join(differences) if differences else problem
  if any(UPSTREAM_TABLE in key for key, _ in tf.train.list_variables(path)):
    # Its importance table lives under other names; init_checkpoint maps it.
    raise ModelDirError(
        f'model_dir {model_dir!r}: {os.path.basename(path)} was written by the '
        'upstream token_dropping project, which this package cannot resume '
        f'in place; start a new --model_dir with task.init_checkpoint={path}, '
        'which carries its weights and importance table over.')
  raise ModelDirError(
      f'model_dir {model_dir!r}: cannot resume {os.path.basename(path)}, it '
      f'was written by a different model: {what}. Use the same task.model '
      'settings, or a new --model_dir.')


def check_init_checkpoint(model: tf.Module, params) -> Optional[str]:
  """Checks a fine-tuning run's `task.init_checkpoint` against its encoder.

  For tasks that restore only the encoder from it (tfm's sentence prediction
  and tagging and this package's subclasses); see
  `checkpoints.check_encoder_init`. A resumed run restores the model_dir's
  checkpoint instead, so only a fresh run is checked.

  Args:
    model: The built model.
    params: The `ExperimentConfig`.

  Returns:
    The checked checkpoint prefix, or None if nothing was checked.
  """
  task = params.task
  init = getattr(task, 'init_checkpoint', '')
  items = getattr(model, 'checkpoint_items', None) or {}
  if (not init or 'encoder' not in items or getattr(task, 'init_classifier',
                                                    False)
      or not isinstance(task, (tfm_sp.SentencePredictionConfig,
                               tfm_tagging.TaggingConfig))):
    return None
  return checkpoints.check_encoder_init(
      items['encoder'], init,
      partial=getattr(task, 'init_checkpoint_partial', False))


def remove_temp_checkpoints(model_dir: str) -> List[str]:
  """Removes `ckpt-*_temp` folders left by a killed or failed save.

  Call only from a train job: a concurrent train job may be writing one.

  Args:
    model_dir: The run's model_dir.

  Returns:
    The removed paths.
  """
  removed = []
  for path in tf.io.gfile.glob(os.path.join(model_dir, 'ckpt-*_temp')):
    if tf.io.gfile.isdir(path):
      logging.info('removing the unfinished checkpoint %s', path)
      tf.io.gfile.rmtree(path)
      removed.append(path)
  return removed


def save_params(params, model_dir: str) -> str:
  """Writes params.yaml, keeping a resumed run's original.

  A model_dir with a checkpoint and a params.yaml keeps its params.yaml; if
  the new config differs (settings that may change on resume, e.g.
  `trainer.train_steps`), it is written next to it as
  `params_<UTC date and time>.yaml`.

  Args:
    params: The new `ExperimentConfig`.
    model_dir: The run's model_dir.

  Returns:
    The path written, or the kept params.yaml.
  """
  path = os.path.join(model_dir, PARAMS_FILE)
  old = _read_params(model_dir)
  if old is None or not tf.train.latest_checkpoint(model_dir):
    train_utils.serialize_config(params, model_dir)
    return path
  if old == _params_as_dict(params):
    return path
  stamp = datetime.datetime.now(datetime.timezone.utc).strftime(
      '%Y%m%d-%H%M%S')
  dated = os.path.join(model_dir, f'params_{stamp}.yaml')
  logging.info('resumed run with a changed config: keeping %s, writing %s',
               path, dated)
  params_dict.save_params_dict_to_yaml(params, dated)
  return dated
