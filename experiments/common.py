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

"""Pieces shared by the experiment registrations.

Every experiment registered in `experiments/` (tfm's re-registered ones
included) uses this package's extended configs: the trainer config with a
time budget (`time_budget.TrainerConfig`), the runtime config with a seed
(`reproducibility.RuntimeConfig`) and, for BERT pretraining, the data config
that also reads text (`pretrain_dataloader.PretrainDataConfig`). Experiments
written here build them directly; those that start from a tfm factory pass
its config through `extend`.

Every pretraining experiment reads `PretrainDataConfig` data and trains with
AdamW (decoupled weight decay, no decay on LayerNorm and biases) under a
linear-warmup polynomial schedule, as tfm's `bert/pretraining` does; the
experiments differ only in the values.
"""

from typing import Any, Dict, List

from official.core import config_definitions as cfg
from official.modeling import optimization
from official.nlp.data import pretrain_dataloader as tfm_pretrain_dataloader
from token_drop.core import config_parser
from token_drop.core import reproducibility
from token_drop.core import time_budget
from token_drop.data import pretrain_dataloader

# Size of the BERT uncased vocabulary (Google's, bundled as
# data/vocab/bert_en_uncased_vocab.txt) that every experiment defaults to.
VOCAB_SIZE = 30522

# The BERT-large shape (Bort's teacher, budget BERT's encoder); encoder
# config fields, for any `BertEncoderConfig` subclass.
BERT_LARGE: Dict[str, Any] = dict(
    vocab_size=VOCAB_SIZE, hidden_size=1024, num_layers=24,
    num_attention_heads=16, intermediate_size=4096,
    max_position_embeddings=512)

RESTRICTIONS: List[str] = [
    'task.train_data.is_training != None',
    'task.validation_data.is_training != None',
]


def extend(config: cfg.ExperimentConfig) -> cfg.ExperimentConfig:
  """A tfm factory's experiment config with this package's extended configs.

  Upgrades (`config_parser.upgrade`, all values kept) the trainer to
  `time_budget.TrainerConfig`, the runtime to `reproducibility.RuntimeConfig`
  (its `seed` defaults on) and tfm's `BertPretrainDataConfig` train and
  validation data to `pretrain_dataloader.PretrainDataConfig`.

  Args:
    config: The experiment config (changed in place).

  Returns:
    `config`.
  """
  config.trainer = config_parser.upgrade(config.trainer,
                                         time_budget.TrainerConfig)
  config.runtime = config_parser.upgrade(config.runtime,
                                         reproducibility.RuntimeConfig)
  for name in ('train_data', 'validation_data'):
    data = getattr(config.task, name, None)
    # Only tfm's own class: its other loaders' configs (dynamic, TFDS text)
    # are not bases of PretrainDataConfig.
    if type(data) is tfm_pretrain_dataloader.BertPretrainDataConfig:  # pylint: disable=unidiomatic-typecheck
      setattr(config.task, name, config_parser.upgrade(
          data, pretrain_dataloader.PretrainDataConfig))
  return config


def pretrain_data(is_training: bool, global_batch_size: int, seq_length: int,
                  max_predictions_per_seq: int
                 ) -> pretrain_dataloader.PretrainDataConfig:
  """MLM-only pretraining data (set input_path and format in YAML)."""
  return pretrain_dataloader.PretrainDataConfig(
      is_training=is_training, drop_remainder=is_training,
      global_batch_size=global_batch_size, seq_length=seq_length,
      max_predictions_per_seq=max_predictions_per_seq,
      use_next_sentence_label=False)


def adamw_polynomial(initial_learning_rate: float, decay_steps: int,
                     warmup_steps: int,
                     **adamw) -> optimization.OptimizationConfig:
  """AdamW with linear warmup then linear decay to zero.

  Args:
    initial_learning_rate: Peak learning rate.
    decay_steps: Steps of the decay (usually train_steps).
    warmup_steps: Steps of the linear warmup.
    **adamw: Extra AdamW fields (beta_2, epsilon, ...).

  Returns:
    The optimization config.
  """
  return optimization.OptimizationConfig({
      'optimizer': {'type': 'adamw', 'adamw': dict({
          'weight_decay_rate': 0.01,
          'exclude_from_weight_decay': ['LayerNorm', 'layer_norm', 'bias'],
      }, **adamw)},
      'learning_rate': {'type': 'polynomial', 'polynomial': {
          'initial_learning_rate': initial_learning_rate,
          'decay_steps': decay_steps, 'end_learning_rate': 0.0,
          'power': 1.0}},
      'warmup': {'type': 'polynomial',
                 'polynomial': {'warmup_steps': warmup_steps, 'power': 1.0}},
  })
