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

"""Fine-tuning experiments on raw TSV/CSV and CoNLL files.

`finetuning/sentence_prediction` and `finetuning/tagging` are tfm's
`bert/sentence_prediction` and `bert/tagging` (same tasks, optimizer and
metrics; the task configs add `init_checkpoint_partial`) with data configs
that also accept a `source_path` to a raw file, converted to TFRecords and
cached on first use (token_drop.data.finetuning_dataloader). `input_path`
TFRecords keep working, and tfm's `bert/*` experiments read the TFRecords
written by `python -m token_drop.data.create_finetuning_data`.

Any checkpoint with an `encoder` item fits `task.init_checkpoint`: pretraining
model_dirs of this package and tfm, and `token_drop.tools.import_hf` outputs;
its encoder must match the model's (more layers, or variables left unset,
are an error unless `task.init_checkpoint_partial: true`).
"""

import dataclasses

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.nlp.configs import finetuning_experiments
from experiments import common
from token_drop.core import config_parser
from token_drop.data import finetuning_dataloader
from token_drop.tasks import sentence_prediction as classifier_tasks
from token_drop.tasks import tagging as tagging_tasks
# Registers `gelu_exact`, the activation of imported Hugging Face encoders.
from token_drop.layers import gelu_exact  # noqa: F401  # pylint: disable=unused-import


@exp_factory.register_config_factory('finetuning/sentence_prediction')
def sentence_prediction() -> cfg.ExperimentConfig:
  """Sentence (pair) classification; reports accuracy (or metric_type)."""
  config = common.extend(finetuning_experiments.bert_sentence_prediction())
  config.task = config_parser.upgrade(
      config.task, classifier_tasks.SentencePredictionConfig)
  config.task.train_data = (
      finetuning_dataloader.SentencePredictionRawDataConfig())
  config.task.validation_data = (
      finetuning_dataloader.SentencePredictionRawDataConfig(
          is_training=False, drop_remainder=False))
  return config


@dataclasses.dataclass
class TaggingExperimentConfig(cfg.ExperimentConfig):
  """A tagging experiment; `validate()` checks the data's tag order."""

  def validate(self):
    super().validate()
    finetuning_dataloader.check_tag_order(self.task)


@exp_factory.register_config_factory('finetuning/tagging')
def tagging() -> cfg.ExperimentConfig:
  """Token classification (NER, POS); reports seqeval F1, precision, recall."""
  config = config_parser.upgrade(
      common.extend(finetuning_experiments.bert_tagging()),
      TaggingExperimentConfig)
  config.task = config_parser.upgrade(config.task, tagging_tasks.TaggingConfig)
  config.task.train_data = finetuning_dataloader.TaggingRawDataConfig()
  config.task.validation_data = finetuning_dataloader.TaggingRawDataConfig(
      is_training=False, drop_remainder=False)
  return config
