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

"""Budget pretraining (24-hour BERT, Izsak et al. 2021; ExtremeBERT).

Experiments: `budget_bert/pretraining`, and fine-tuning its encoder:
`budget_bert/sentence_prediction`, `budget_bert/tagging`.

BERT-large shape with pre-layer-norm and the reference's final LayerNorm
(`token_drop.encoders.pre_ln_bert`, `encoder.type: any`), sequence 128,
global batch 4096, AdamW (lr 1e-3, beta2 0.98, epsilon 1e-6), and the
time-based schedule of `token_drop.core.time_budget`: linear warmup over 6%
of a 24-hour budget, linear decay to zero at the budget, where the run writes
a checkpoint, evaluates and exits. `train_steps` is only an upper bound (and
sets the pace of the first loop, see `time_budget`). For the step-based
equivalent (reproducible across machines), set
`trainer.time_budget.learning_rate_schedule: step` and the optimizer's
polynomial schedule.

The fine-tuning experiments are `finetuning/sentence_prediction` and
`finetuning/tagging` with the same pre-LN encoder, so the final LayerNorm is
restored from `task.init_checkpoint` (a plain `type: bert` encoder would
restore without it).
"""

import dataclasses

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.nlp.configs import bert
from official.nlp.configs import encoders
from experiments import common
from experiments import finetuning
from token_drop.core import config_parser
from token_drop.core import reproducibility
from token_drop.core import time_budget
from token_drop.encoders import pre_ln_bert
from token_drop.tasks import masked_lm


def pre_ln_encoder() -> encoders.EncoderConfig:
  """BERT-large, pre-LN, with the final LayerNorm."""
  return encoders.EncoderConfig(
      type='any', any=pre_ln_bert.PreLNBertEncoderConfig(
          **common.BERT_LARGE, norm_first=True, final_layer_norm=True))


def check_encoder(config: cfg.ExperimentConfig) -> None:
  """Raises `ConfigError` unless the encoder is the pre-LN `any` encoder.

  tfm's one-of encoder config silently ignores the sections of inactive
  types, so keys meant for this encoder but written under
  `task.model.encoder.bert` (the key of `type: bert` experiments) would
  change nothing.

  Args:
    config: A budget_bert experiment config.
  """
  encoder = config.task.model.encoder
  if encoder.type != 'any' or not isinstance(
      encoder.any, pre_ln_bert.PreLNBertEncoderConfig):
    raise config_parser.ConfigError(
        f'task.model.encoder.type={encoder.type!r}: budget_bert experiments '
        'use type `any` (pre-LN BERT with the final LayerNorm, '
        'task.model.encoder.any.*).')
  if encoder.bert.as_dict() != encoders.BertEncoderConfig().as_dict():
    raise config_parser.ConfigError(
        'task.model.encoder.bert.* is set, but budget_bert experiments use '
        'task.model.encoder.any.* (type any); move the keys there.')


@dataclasses.dataclass
class BudgetBertConfig(cfg.ExperimentConfig):
  """An experiment whose `validate()` checks the pre-LN encoder."""

  def validate(self):
    super().validate()
    check_encoder(self)


@dataclasses.dataclass
class BudgetBertTaggingConfig(finetuning.TaggingExperimentConfig):
  """`finetuning/tagging`'s checks plus the pre-LN encoder's."""

  def validate(self):
    super().validate()
    check_encoder(self)


@exp_factory.register_config_factory('budget_bert/pretraining')
def budget_bert_pretraining() -> cfg.ExperimentConfig:
  """BERT-large pre-LN pretraining within a 24-hour budget."""
  return BudgetBertConfig(
      runtime=reproducibility.RuntimeConfig(enable_xla=True),
      task=masked_lm.MaskedLMConfig(
          model=bert.PretrainerConfig(encoder=pre_ln_encoder(), cls_heads=[]),
          train_data=common.pretrain_data(True, 4096, 128, 20),
          validation_data=common.pretrain_data(False, 4096, 128, 20)),
      trainer=time_budget.TrainerConfig(
          train_steps=1_000_000, steps_per_loop=100, summary_interval=100,
          checkpoint_interval=1000, validation_interval=2000,
          validation_steps=32, max_to_keep=3,
          time_budget=time_budget.TimeBudgetConfig(
              budget_hours=24.0, learning_rate_schedule='time',
              peak_learning_rate=1e-3, warmup_proportion=0.06),
          # Used only with learning_rate_schedule: step; set decay_steps to
          # the steps the budget reaches on your hardware (warmup: 6% of
          # them).
          optimizer_config=common.adamw_polynomial(
              1e-3, decay_steps=1_000_000, warmup_steps=60_000, beta_1=0.9,
              beta_2=0.98, epsilon=1e-6)),
      restrictions=common.RESTRICTIONS)


@exp_factory.register_config_factory('budget_bert/sentence_prediction')
def budget_bert_sentence_prediction() -> cfg.ExperimentConfig:
  """`finetuning/sentence_prediction` with the pre-LN encoder."""
  config = config_parser.upgrade(finetuning.sentence_prediction(),
                                 BudgetBertConfig)
  config.task.model.encoder = pre_ln_encoder()
  return config


@exp_factory.register_config_factory('budget_bert/tagging')
def budget_bert_tagging() -> cfg.ExperimentConfig:
  """`finetuning/tagging` with the pre-LN encoder."""
  config = config_parser.upgrade(finetuning.tagging(),
                                 BudgetBertTaggingConfig)
  config.task.model.encoder = pre_ln_encoder()
  return config
