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

"""`config_parser.upgrade`, the one converter to this package's configs."""

import dataclasses

import pytest

from official.core import config_definitions as cfg
from official.nlp.configs import pretraining_experiments
from official.nlp.data import pretrain_dataloader as tfm_pretrain_dataloader
from token_drop.core import config_parser
from token_drop.core import time_budget
from token_drop.data import pretrain_dataloader


@dataclasses.dataclass
class _CheckedExperiment(cfg.ExperimentConfig):
  """An ExperimentConfig subclass, as the experiments' validating ones."""


def test_upgrade_keeps_values_and_defaults_the_new_fields():
  trainer = cfg.TrainerConfig(train_steps=7, steps_per_loop=3)
  trainer.optimizer_config.optimizer.type = 'adamw'
  upgraded = config_parser.upgrade(trainer, time_budget.TrainerConfig)
  assert type(upgraded) is time_budget.TrainerConfig  # pylint: disable=unidiomatic-typecheck
  expected = dict(trainer.as_dict(),
                  time_budget=time_budget.TimeBudgetConfig().as_dict())
  assert upgraded.as_dict() == expected
  # A copy: changing the upgraded config leaves the original as it was.
  upgraded.optimizer_config.optimizer.adamw.weight_decay_rate = 0.5
  assert trainer.optimizer_config.optimizer.adamw.weight_decay_rate == 0.0


def test_upgrade_data_config():
  data = tfm_pretrain_dataloader.BertPretrainDataConfig(
      input_path='a.tfrecord', global_batch_size=8, seq_length=16)
  upgraded = config_parser.upgrade(data, pretrain_dataloader.PretrainDataConfig)
  assert upgraded.as_dict() == dict(
      data.as_dict(), input_format='tfrecord', vocab_file='',
      do_lower_case=True, masking_rate=0.15)


def test_upgrade_experiment_keeps_classes_and_restrictions():
  config = pretraining_experiments.bert_pretraining()
  config.trainer = config_parser.upgrade(config.trainer,
                                         time_budget.TrainerConfig)
  upgraded = config_parser.upgrade(config, _CheckedExperiment)
  assert type(upgraded) is _CheckedExperiment  # pylint: disable=unidiomatic-typecheck
  # Sub-configs keep their (sub)classes, not those of the annotations.
  assert type(upgraded.trainer) is time_budget.TrainerConfig  # pylint: disable=unidiomatic-typecheck
  assert type(upgraded.task) is type(config.task)  # pylint: disable=unidiomatic-typecheck
  assert upgraded.as_dict() == config.as_dict()
  assert upgraded._restrictions == config._restrictions  # pylint: disable=protected-access
  assert len(upgraded._restrictions) == 2  # pylint: disable=protected-access


def test_upgrade_of_an_instance_is_itself():
  trainer = time_budget.TrainerConfig()
  assert config_parser.upgrade(trainer, time_budget.TrainerConfig) is trainer
  assert config_parser.upgrade(trainer, cfg.TrainerConfig) is trainer


def test_upgrade_to_a_class_that_is_no_subclass_fails():
  with pytest.raises(TypeError, match='RuntimeConfig.*not a subclass'):
    config_parser.upgrade(cfg.TrainerConfig(), cfg.RuntimeConfig)
