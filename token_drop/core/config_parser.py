"""Builds the experiment config from flags, naming bad keys and their source.

tfm's `ExperimentParser` applies `--config_file`s in order, then
`--params_override`. Its error for an unknown key names only the last path
component and not the file it came from; this parser checks each source
against the config first and reports the full dotted path and the source.
It also widens two tfm configs for every experiment, tfm's own included: the
BERT pretraining data config to
`token_drop.data.pretrain_dataloader.PretrainDataConfig` (text input) and the
trainer config to `token_drop.core.time_budget.TrainerConfig` (time budget),
and the runtime config to `token_drop.core.reproducibility.RuntimeConfig`
(seed).
"""

from typing import Any, List, Type, TypeVar

import yaml

from official.core import config_definitions as cfg
from official.core import train_utils
from official.modeling.hyperparams import base_config
from official.modeling.hyperparams import params_dict
from official.nlp.data import pretrain_dataloader as tfm_pretrain_dataloader
from token_drop.core import reproducibility
from token_drop.core import time_budget
from token_drop.data import pretrain_dataloader


class ConfigError(ValueError):
  """A config file or override does not fit the experiment's config."""


_Experiment = TypeVar('_Experiment', bound=cfg.ExperimentConfig)


def as_experiment(config: cfg.ExperimentConfig,
                  cls: Type[_Experiment]) -> _Experiment:
  """`config` (task, trainer, runtime, restrictions) as an instance of `cls`.

  For experiments built from a tfm config factory whose checks need an
  `ExperimentConfig` subclass with its own `validate()` (run by
  `parse_configuration` before any work).
  """
  return cls(task=config.task, trainer=config.trainer, runtime=config.runtime,
             restrictions=list(getattr(config, '_restrictions', None) or []))


def load_override(source: str) -> Any:
  """Parses a YAML file path, or a YAML/JSON/`a.b=c` string, like tfm does."""
  text = source
  try:
    text = params_dict.nested_csv_str_to_json_str(source)
  except ValueError:
    pass
  try:
    loaded = yaml.load(text, Loader=params_dict._LOADER)  # pylint: disable=protected-access
  except yaml.YAMLError as e:
    raise ConfigError(f'cannot parse {source!r}: {e}') from None
  return loaded


def _read_config_file(path: str) -> Any:
  try:
    with open(path, encoding='utf-8') as f:
      return yaml.load(f, Loader=params_dict._LOADER)  # pylint: disable=protected-access
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
  try:
    params.override(override, is_strict=True)
  except (KeyError, ValueError, TypeError) as e:
    raise ConfigError(f'{source}: {e}') from None
  return params


class ExperimentParser(train_utils.ExperimentParser):
  """tfm's parser with source-naming errors and text-capable pretraining data."""

  def base_experiment(self):
    params = super().base_experiment()
    params.trainer = time_budget.upgrade_config(params.trainer)
    params.runtime = reproducibility.upgrade_config(params.runtime)
    task = params.task
    for name in ('train_data', 'validation_data'):
      data = getattr(task, name, None)
      if type(data) is tfm_pretrain_dataloader.BertPretrainDataConfig:  # pylint: disable=unidiomatic-typecheck
        setattr(task, name, pretrain_dataloader.upgrade_config(data))
    return params

  def parse_config_file(self, params):
    for path in self._flags_obj.config_file or []:
      params = _apply(params, _read_config_file(path),
                      f'--config_file {path!r}')
    return params

  def parse_params_override(self, params):
    source = self._flags_obj.params_override
    if source:
      params = _apply(params, load_override(source), '--params_override')
    return params


def parse_configuration(flags_obj) -> cfg.ExperimentConfig:
  """Parses, validates and locks the experiment config."""
  params = ExperimentParser(flags_obj).parse()
  params.validate()
  try:
    # tfm's validate() does not reach sub-configs' validate().
    time_budget.validate(params.trainer)
  except ValueError as e:
    raise ConfigError(str(e)) from None
  reproducibility.seed_data_configs(params)
  params.lock()
  return params
