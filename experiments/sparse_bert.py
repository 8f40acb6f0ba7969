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

"""SparseBERT pruning experiments (Xu et al., NAACL 2021).

* `sparse_bert/sentence_prediction`: a pretrained BERT student
  (`task.init_checkpoint`) pruned to `task.pruning.target_sparsity` while it
  is fine-tuned and distilled from a fine-tuned teacher
  (`task.teacher.init_checkpoint`, a `finetuning/sentence_prediction`
  model_dir); token_drop.tasks.sparse_bert.
* `pruning/sentence_prediction` and `pruning/masked_lm`: the same pruning
  (token_drop.tasks.pruning) on tfm's sentence prediction and this package's
  masked LM, without distillation.

Data configs are those of `finetuning/sentence_prediction` (raw TSV/CSV via
`source_path`, or TFRecords) and of the pretraining experiments.
`task.pruning` is checked when the config is validated (parse time).
Defaults follow the paper's BERT-base setting: 72 kernels, cubic schedule
from 0 to 90% sparsity, masks every 100 steps; and its code's distillation
terms (`task.distillation.attention_target: scores`, `logits_loss:
soft_cross_entropy`; `probabilities` and `kl` are this package's earlier
terms, see token_drop.tasks.sparse_bert).
"""

import copy

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.nlp.configs import encoders
from official.nlp.configs import pretraining_experiments
from official.nlp.tasks import sentence_prediction
from experiments import common
from experiments import finetuning
from token_drop.data import pretrain_dataloader
from token_drop.layers import pruning as pruning_lib
from token_drop.tasks import pruning as pruning_tasks
from token_drop.tasks import sparse_bert

BERT_BASE = encoders.EncoderConfig(
    type='bert', bert=encoders.BertEncoderConfig())


def _paper_pruning() -> pruning_lib.PruningConfig:
  return pruning_lib.PruningConfig(
      target_sparsity=0.9, initial_sparsity=0.0, begin_step=0,
      end_step=8000, frequency=100, schedule='cubic', scope='per_matrix')


@exp_factory.register_config_factory('sparse_bert/sentence_prediction')
def sparse_bert_sentence_prediction() -> cfg.ExperimentConfig:
  """Prune + distill a BERT-base classifier from a fine-tuned teacher."""
  config = finetuning.sentence_prediction()
  base = config.task
  config.task = sparse_bert.SparseBertConfig(
      init_checkpoint=base.init_checkpoint, metric_type=base.metric_type,
      model=sentence_prediction.ModelConfig(encoder=copy.deepcopy(BERT_BASE)),
      teacher=sparse_bert.ClassifierTeacherConfig(
          model=sentence_prediction.ModelConfig(
              encoder=copy.deepcopy(BERT_BASE))),
      distillation=sparse_bert.LayerDistillationConfig(),
      pruning=_paper_pruning(),
      train_data=base.train_data, validation_data=base.validation_data)
  return pruning_tasks.pruning_experiment(config)


@exp_factory.register_config_factory('pruning/sentence_prediction')
def pruned_sentence_prediction() -> cfg.ExperimentConfig:
  """Fine-tuning with gradual magnitude pruning, no teacher."""
  config = finetuning.sentence_prediction()
  base = config.task
  config.task = pruning_tasks.PrunedSentencePredictionConfig(
      init_checkpoint=base.init_checkpoint, metric_type=base.metric_type,
      model=base.model, pruning=_paper_pruning(),
      train_data=base.train_data, validation_data=base.validation_data)
  return pruning_tasks.pruning_experiment(config)


@exp_factory.register_config_factory('pruning/masked_lm')
def pruned_masked_lm() -> cfg.ExperimentConfig:
  """Masked-LM (pre)training with gradual magnitude pruning."""
  config = common.extend(pretraining_experiments.bert_pretraining())
  base = config.task
  config.task = pruning_tasks.PrunedMaskedLMConfig(
      init_checkpoint=base.init_checkpoint, model=base.model,
      pruning=_paper_pruning(),
      train_data=pretrain_dataloader.PretrainDataConfig(),
      validation_data=pretrain_dataloader.PretrainDataConfig(
          is_training=False))
  return pruning_tasks.pruning_experiment(config)
