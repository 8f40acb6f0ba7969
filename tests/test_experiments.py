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

"""`import experiments` registers every experiment with the extended configs.

The extension (time budget trainer, seeded runtime, text pretraining data) is
explicit in `experiments/`: this package's experiments and tfm's
`bert/pretraining`, `bert/sentence_prediction` and `bert/tagging` (registered
again by `experiments/tfm_bert.py`) carry it; tfm's other experiments are
left as tfm registers them, and the config parser changes no config class.
"""

import pytest

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.core import train_utils
from official.nlp.configs import pretraining_experiments
from official.nlp.data import pretrain_dataloader as tfm_pretrain_dataloader
import experiments  # noqa: F401  # pylint: disable=unused-import
from experiments import tfm_bert
from token_drop.core import config_parser
from token_drop.core import reproducibility
from token_drop.core import time_budget
from token_drop.data import pretrain_dataloader

# Families registered in experiments/ (tfm_bert adds the `bert/*` it lists).
OWN_FAMILIES = ('bort', 'budget_bert', 'finetuning', 'narrow_bert', 'pruning',
                'sparse_bert', 'token_drop_bert')
EXTENDED = sorted(
    [name for name in config_parser.registered_experiments()
     if name.split('/')[0] in OWN_FAMILIES] + list(tfm_bert.EXTENDED))


def _classes(config):
  data = [getattr(config.task, name, None)
          for name in ('train_data', 'validation_data')]
  return type(config.trainer), type(config.runtime), [type(d) for d in data]


def test_every_family_is_listed():
  families = {name.split('/')[0]
              for name in config_parser.registered_experiments()}
  assert families - set(OWN_FAMILIES) == {'bert', 'electra'}


@pytest.mark.parametrize('name', EXTENDED)
def test_registered_config_is_extended(name):
  config = exp_factory.get_exp_config(name)
  assert isinstance(config.trainer, time_budget.TrainerConfig)
  assert isinstance(config.runtime, reproducibility.RuntimeConfig)
  assert config.runtime.seed == reproducibility.DEFAULT_SEED
  for key in ('train_data', 'validation_data'):
    data = getattr(config.task, key)
    assert type(data) is not tfm_pretrain_dataloader.BertPretrainDataConfig  # pylint: disable=unidiomatic-typecheck


def test_bert_pretraining_keeps_tfm_values():
  tfm = pretraining_experiments.bert_pretraining()
  ours = exp_factory.get_exp_config('bert/pretraining')
  for data in (ours.task.train_data, ours.task.validation_data):
    assert isinstance(data, pretrain_dataloader.PretrainDataConfig)
  added = {'trainer': {'time_budget'},
           'runtime': {'seed', 'deterministic_ops', 'skip_consumed_input'}}
  for key, value in tfm.as_dict().items():
    if key == 'task':
      for data in ('train_data', 'validation_data'):
        ours_data = ours.task.as_dict()[data]
        assert {k: ours_data[k] for k in value[data]} == value[data]
        assert ours_data['input_format'] == 'tfrecord'
      continue
    ours_value = ours.as_dict()[key]
    assert set(ours_value) - set(value) == added[key]
    assert {k: ours_value[k] for k in value} == value
  assert ours.task.model.as_dict() == tfm.task.model.as_dict()
  tfm_restrictions = ['task.train_data.is_training != None',
                      'task.validation_data.is_training != None']
  assert ours._restrictions == tfm_restrictions  # pylint: disable=protected-access


def test_other_tfm_experiments_are_not_changed():
  for name in ('bert/squad', 'bert/pretraining_dynamic'):
    config = exp_factory.get_exp_config(name)
    assert type(config.trainer) is cfg.TrainerConfig  # pylint: disable=unidiomatic-typecheck
    assert type(config.runtime) is cfg.RuntimeConfig  # pylint: disable=unidiomatic-typecheck
  with pytest.raises(config_parser.ConfigError,
                     match=r'unknown config key\(s\) trainer.time_budget'):
    _parse('bert/squad', 'trainer.time_budget.budget_hours=1')


def _parse(name, override=''):
  return config_parser.ExperimentParser(train_utils.ParseConfigOptions(
      experiment=name, config_file=[], params_override=override)).parse()


@pytest.mark.parametrize('name', ['bert/pretraining', 'bert/squad',
                                  'narrow_bert/tagging'])
def test_parser_keeps_the_registered_classes(name):
  registered = exp_factory.get_exp_config(name)
  parsed = _parse(name)
  assert type(parsed) is type(registered)  # pylint: disable=unidiomatic-typecheck
  assert _classes(parsed) == _classes(registered)
  # tfm's parse() sets runtime keys from flags (tpu, ...), nothing else.
  for key in ('task', 'trainer'):
    assert parsed.as_dict()[key] == registered.as_dict()[key]
