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

"""Builds the experiment config from flags, naming bad keys and their source.

tfm's `ExperimentParser` applies `--config_file`s in order, then
`--params_override`. Its error for an unknown key names only the last path
component and not the file it came from; this parser checks each source
against the config first and reports the full dotted path and the source.
It only parses, stacks and validates: the registered config of
`--experiment` is used as it is. The configs this package extends (the time
budget trainer, the seeded runtime, text pretraining data) are built into the
experiments where they are registered (`experiments/`), with `upgrade` here
for configs that start from a tfm factory.
"""

import dataclasses
from typing import Any, List, Optional, Type, TypeVar

import yaml

from official.core import config_definitions as cfg
from official.core import train_utils
from official.modeling.hyperparams import base_config
from official.modeling.hyperparams import oneof
from official.modeling.hyperparams import params_dict
from token_drop import compat
from token_drop.core import errors
from token_drop.core import reproducibility
from token_drop.core import time_budget


class ConfigError(errors.UserError):
  """A config file or override does not fit the experiment's config."""


_Config = TypeVar('_Config', bound=base_config.Config)


def upgrade(config: base_config.Config, cls: Type[_Config]) -> _Config:
  """`config` as an instance of `cls`, a subclass of its class.

  The one converter of configs: it extends a tfm config (e.g. an experiment,
  trainer, runtime or data config built by a tfm factory) to this package's
  subclass that adds fields. Every field of `config` keeps its value (copied,
  sub-config classes included), the fields `cls` adds take their defaults,
  and the `restrictions` are carried over.

  Args:
    config: A tfm `Config` (dataclass) instance.
    cls: A subclass of `type(config)` (or that class itself).

  Returns:
    `config` itself if it already is a `cls`, else a new `cls`.

  Raises:
    TypeError: `cls` is not a subclass of `config`'s class (a programming
      error: the new class would drop fields).
  """
  if isinstance(config, cls):
    return config
  if not issubclass(cls, type(config)):
    raise TypeError(f'cannot upgrade a {type(config).__name__} to '
                    f'{cls.__name__}, which is not a subclass of it.')
  values = {field.name: getattr(config, field.name)
            for field in dataclasses.fields(config) if field.init}
  return cls(**values, restrictions=compat.config_restrictions(config))


OVERRIDE_FORMS = (
    'accepted forms: comma-separated dotted.key=value pairs, e.g. '
    '"trainer.train_steps=100,task.train_data.global_batch_size=32" (no list '
    'indices), or a YAML/JSON mapping, e.g. '
    '"{task: {train_data: {input_path: [a.txt, b.txt]}}}"')


def load_override(source: str) -> Any:
  """Parses a YAML/JSON mapping or an `a.b=c,d=e` string, like tfm does.

  Args:
    source: The `--params_override` text.

  Returns:
    The parsed override (a dict, or None for an empty one).

  Raises:
    ConfigError: `source` is neither form; the message shows the part that
      did not parse and the accepted forms.
  """
  text = source
  unparsed = None
  try:
    text = params_dict.nested_csv_str_to_json_str(source)
  except ValueError as e:
    # tfm's message ends with the rest of the string from where it stopped.
    unparsed = str(e).split('CSV string: ', 1)[-1]
  try:
    loaded = compat.yaml_load(text)
  except yaml.YAMLError as e:
    where = (f'; this part did not parse: {unparsed!r}'
             if unparsed is not None else f': {_one_line(e)}')
    raise ConfigError(f'--params_override {source!r} is malformed{where}; '
                      f'{OVERRIDE_FORMS}.') from None
  if loaded is not None and not isinstance(loaded, dict):
    part = unparsed if unparsed is not None else source
    raise ConfigError(
        f'--params_override {source!r} is malformed; this part did not '
        f'parse: {part!r}; {OVERRIDE_FORMS}.')
  return loaded


def _one_line(text) -> str:
  return ' '.join(str(text).split())


def _read_config_file(path: str) -> Any:
  try:
    with open(path, encoding='utf-8') as f:
      return compat.yaml_load(f)
  except FileNotFoundError:
    raise ConfigError(f'--config_file {path!r} does not exist.') from None
  except yaml.YAMLError as e:
    raise ConfigError(f'--config_file {path!r} is not valid YAML: {e}'
                      ) from None


def unknown_keys(config: base_config.Config, override: Any,
                 prefix: str = '') -> List[str]:
  """Dotted paths in `override` that `config` does not have."""
  if not isinstance(override, dict):
    return []
  missing = []
  for key, value in override.items():
    path = f'{prefix}{key}'
    if not isinstance(config, base_config.Config):
      break
    if key not in config.as_dict():
      missing.append(path)
      continue
    child = getattr(config, key)
    if isinstance(child, base_config.Config) and isinstance(value, dict):
      missing.extend(unknown_keys(child, value, path + '.'))
  return missing


def _expected_type(current) -> Optional[str]:
  """What a config value of `current`'s type accepts, or None if anything."""
  if isinstance(current, bool):
    return 'true or false'
  if isinstance(current, int):
    return 'an integer'
  if isinstance(current, float):
    return 'a number'
  return None


def _fits(value, current) -> bool:
  if isinstance(current, bool):
    return isinstance(value, bool)
  if isinstance(current, int):
    # YAML reads 1e3 as a float; a whole number still works as a count.
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())
  if isinstance(current, float):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
  return True


def type_errors(config: base_config.Config, override: Any,
                prefix: str = '') -> List[str]:
  """`key=value` problems where a number or bool setting gets another type.

  tfm's `override` does not check types, so `train_steps=abc` or an empty
  `train_steps=` would fail deep inside the training loop.

  Args:
    config: The config to be overridden.
    override: The override (nested dicts).
    prefix: The dotted path of `config`.

  Returns:
    One line per bad value, naming the key, the value and what was expected.
  """
  if not isinstance(override, dict) or not isinstance(
      config, base_config.Config):
    return []
  problems = []
  for key, value in override.items():
    if key not in config.as_dict():
      continue
    path = f'{prefix}{key}'
    current = getattr(config, key)
    if isinstance(current, base_config.Config):
      problems.extend(type_errors(current, value, path + '.'))
      continue
    expected = _expected_type(current)
    if expected is None or _fits(value, current):
      continue
    if value is None or value == '':
      problems.append(f'{path} is empty: expected {expected}')
    else:
      problems.append(f'{path}={value!r}: expected {expected}')
  return problems


def _apply(params: cfg.ExperimentConfig, override: Any, source: str):
  if override is None:
    return params
  if not isinstance(override, dict):
    raise ConfigError(f'{source} must hold a mapping of config keys, got '
                      f'{type(override).__name__}.')
  missing = unknown_keys(params, override)
  if missing:
    raise ConfigError(
        f'{source}: unknown config key(s) {", ".join(missing)} for experiment '
        'config; check the spelling and the experiment (see params.yaml in a '
        'model_dir for the full key set).')
  problems = type_errors(params, override)
  if problems:
    raise ConfigError(f'{source}: {"; ".join(problems)}.')
  try:
    params.override(override, is_strict=True)
  except (KeyError, ValueError, TypeError) as e:
    raise ConfigError(f'{source}: {_one_line(e)}') from None
  return params


def _oneof_errors(config: base_config.Config, prefix: str) -> List[str]:
  """OneOf configs whose `type` names none of their choices."""
  problems = []
  if isinstance(config, oneof.OneOfConfig) and config.type is not None:
    choices = [k for k in config.__dict__ if k != 'type' and
               not k.startswith('_')]
    if config.type not in choices:
      problems.append(f'{prefix}type={config.type!r}: expected one of '
                      f'{sorted(choices)}')
  for key in config.__dict__:
    child = getattr(config, key, None) if not key.startswith('_') else None
    if isinstance(child, base_config.Config):
      problems.extend(_oneof_errors(child, f'{prefix}{key}.'))
  return problems


def _positive(problems: List[str], key: str, value) -> None:
  if isinstance(value, (int, float)) and value < 1:
    problems.append(f'{key}={value}: expected an integer >= 1')


def value_errors(params: cfg.ExperimentConfig,
                 mode: Optional[str] = None) -> List[str]:
  """Settings that tfm or Orbit would reject mid-start with a traceback.

  Args:
    params: The experiment config.
    mode: The tfm mode, or None (checked as a training mode).

  Returns:
    One line per problem, naming the key, the value and what was expected.
  """
  problems = _oneof_errors(params, '')
  trainer = params.trainer
  training = mode is None or 'train' in mode
  if training:
    _positive(problems, 'trainer.train_steps', trainer.train_steps)
  _positive(problems, 'trainer.steps_per_loop', trainer.steps_per_loop)
  steps_per_loop, summary = trainer.steps_per_loop, trainer.summary_interval
  if training and isinstance(summary, int) and steps_per_loop and (
      summary < 1 or summary % steps_per_loop):
    problems.append(
        f'trainer.summary_interval={summary}: expected a positive multiple '
        f'of trainer.steps_per_loop={steps_per_loop} (Orbit writes '
        'summaries between loops)')
  for name in ('train_data', 'validation_data'):
    data = getattr(params.task, name, None)
    if not isinstance(data, cfg.DataConfig) or not (
        data.input_path or getattr(data, 'source_path', '')):
      continue
    _positive(problems, f'task.{name}.global_batch_size',
              data.global_batch_size)
    _positive(problems, f'task.{name}.seq_length',
              getattr(data, 'seq_length', None))
  return problems


class ExperimentParser(train_utils.ExperimentParser):
  """tfm's parser with errors that name the source, key and value."""

  def __init__(self, flags_obj):
    super().__init__(flags_obj)
    # Our own reference: tfm's parser keeps the flags as a private attribute.
    self.flags_obj = flags_obj

  def base_experiment(self):
    name = self.flags_obj.experiment
    try:
      return super().base_experiment()
    except (LookupError, AssertionError):
      raise ConfigError(
          f'--experiment={name!r} is not a registered experiment; expected '
          f'one of: {", ".join(registered_experiments())}.') from None

  def parse_config_file(self, params):
    for path in self.flags_obj.config_file or []:
      params = _apply(params, _read_config_file(path),
                      f'--config_file {path!r}')
    return params

  def parse_params_override(self, params):
    source = self.flags_obj.params_override
    if source:
      params = _apply(params, load_override(source), '--params_override')
    return params


def registered_experiments() -> List[str]:
  """The names `--experiment` accepts (this package's and tfm's)."""
  names = []

  def walk(collection, prefix):
    for key, value in collection.items():
      if isinstance(value, dict):
        walk(value, f'{prefix}{key}/')
      else:
        names.append(f'{prefix}{key}')

  walk(compat.registered_config_factories(), '')
  return sorted(names)


def parse_configuration(flags_obj) -> cfg.ExperimentConfig:
  """Parses, validates and locks the experiment config.

  Args:
    flags_obj: tfm's flags (experiment, config_file, params_override; mode
      if present).

  Returns:
    The locked config.

  Raises:
    ConfigError: naming the source, key and value of any problem.
  """
  params = ExperimentParser(flags_obj).parse()
  problems = value_errors(params, getattr(flags_obj, 'mode', None))
  if problems:
    raise ConfigError('; '.join(problems) + '.')
  try:
    params.validate()
    # tfm's validate() does not reach sub-configs' validate().
    time_budget.validate(params.trainer)
  except (ValueError, KeyError, TypeError, AssertionError) as e:
    raise ConfigError(_one_line(e)) from None
  reproducibility.seed_data_configs(params)
  params.lock()
  return params
