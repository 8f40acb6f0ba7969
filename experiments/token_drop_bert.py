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

"""Token dropping (Hou et al., ACL 2022): `token_drop_bert/pretraining`.

Defaults are the paper's BERT-base run (and tfm's
official/projects/token_dropping YAML): 12 layers x 768, sequence 512, keep
256 tokens in layers 5-10, AdamW 1e-4 with 10k linear warmup and linear
decay to 0 over 1M steps, global batch 512, 76 predictions per sequence, MLM
only. configs/wiki_books_pretrain.yaml adds next-sentence prediction.

The pretrained checkpoint is a plain BERT checkpoint: fine-tune it with tfm's
BERT fine-tuning experiments (e.g. `bert/sentence_prediction`) and
`task.init_checkpoint`.
"""

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.nlp.configs import bert
from official.nlp.configs import encoders
from experiments import common
from token_drop.core import reproducibility
from token_drop.core import time_budget
from token_drop.data import pretrain_dataloader
from token_drop.encoders import token_drop_bert
from token_drop.tasks import token_drop_masked_lm

SEQ_LENGTH = 512
MAX_PREDICTIONS_PER_SEQ = 76
GLOBAL_BATCH_SIZE = 512
TRAIN_STEPS = 1_000_000
WARMUP_STEPS = 10_000


def _data(is_training: bool) -> pretrain_dataloader.PretrainDataConfig:
  return common.pretrain_data(is_training, GLOBAL_BATCH_SIZE, SEQ_LENGTH,
                              MAX_PREDICTIONS_PER_SEQ)


@exp_factory.register_config_factory('token_drop_bert/pretraining')
def token_drop_bert_pretraining() -> cfg.ExperimentConfig:
  """BERT-base pretraining with token dropping."""
  return cfg.ExperimentConfig(
      runtime=reproducibility.RuntimeConfig(enable_xla=True),
      task=token_drop_masked_lm.TokenDropMaskedLMConfig(
          model=bert.PretrainerConfig(
              encoder=encoders.EncoderConfig(
                  type='any',
                  any=token_drop_bert.TokenDropBertEncoderConfig(
                      vocab_size=common.VOCAB_SIZE,
                      token_keep_k=SEQ_LENGTH // 2)),
              cls_heads=[]),
          train_data=_data(is_training=True),
          validation_data=_data(is_training=False)),
      trainer=time_budget.TrainerConfig(
          train_steps=TRAIN_STEPS,
          checkpoint_interval=20_000,
          max_to_keep=5,
          steps_per_loop=1000,
          summary_interval=1000,
          validation_interval=1000,
          validation_steps=64,
          optimizer_config=common.adamw_polynomial(
              1e-4, decay_steps=TRAIN_STEPS, warmup_steps=WARMUP_STEPS)),
      restrictions=common.RESTRICTIONS
)
