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

"""NarrowBERT (Li et al., ACL 2023): pretraining and fine-tuning experiments.

* `narrow_bert/pretraining`: masked-LM pretraining with BERT-base and 2
  full-length + 10 narrow layers (SparseQueries), narrow at the masked
  positions; otherwise the recipe of `token_drop_bert/pretraining` (sequence
  512, 76 predictions, AdamW 1e-4, 10k warmup, linear decay over 1M steps,
  batch 512, MLM only).
* `narrow_bert/sentence_prediction`: `finetuning/sentence_prediction` (raw
  TSV/CSV or TFRecords) with the narrow encoder; [CLS] is the only narrow
  position.
* `narrow_bert/tagging`: `finetuning/tagging` (raw CoNLL or TFRecords) with
  the narrow layers at the labelled positions (first sub-word of each word).

Encoder checkpoints are plain BERT checkpoints: any `encoder` checkpoint
(BERT, imported Hugging Face, token dropping) initialises these experiments
through `task.init_checkpoint`, and narrow checkpoints initialise BERT ones.
"""

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.nlp.configs import bert
from official.nlp.configs import encoders
from official.nlp.tasks import sentence_prediction
from official.nlp.tasks import tagging
from experiments import common
from experiments import finetuning
from experiments import token_drop_bert
from token_drop.encoders import narrow_bert
from token_drop.tasks import narrow_bert as narrow_tasks


def narrow_encoder(**kwargs) -> encoders.EncoderConfig:
  """BERT-base with 2 full-length and 10 narrow (sparse-query) layers."""
  return encoders.EncoderConfig(
      type='any', any=narrow_bert.NarrowBertEncoderConfig(
          vocab_size=common.VOCAB_SIZE, full_length_layers=2,
          narrow_mode='sparse_queries', **kwargs))


@exp_factory.register_config_factory('narrow_bert/pretraining')
def narrow_bert_pretraining() -> cfg.ExperimentConfig:
  """BERT-base masked-LM pretraining with narrow layers."""
  config = token_drop_bert.token_drop_bert_pretraining()
  task = config.task
  config.task = narrow_tasks.NarrowMaskedLMConfig(
      model=bert.PretrainerConfig(encoder=narrow_encoder(), cls_heads=[]),
      train_data=task.train_data,
      validation_data=task.validation_data)
  return config


@exp_factory.register_config_factory('narrow_bert/sentence_prediction')
def narrow_bert_sentence_prediction() -> cfg.ExperimentConfig:
  """Sentence (pair) classification from the narrow [CLS] state."""
  config = finetuning.sentence_prediction()
  model = config.task.model
  config.task.model = sentence_prediction.ModelConfig(
      num_classes=model.num_classes,
      use_encoder_pooler=model.use_encoder_pooler, encoder=narrow_encoder())
  return config


@exp_factory.register_config_factory('narrow_bert/tagging')
def narrow_bert_tagging() -> cfg.ExperimentConfig:
  """Token classification with narrow layers at the labelled positions."""
  config = finetuning.tagging()
  task = config.task
  config.task = narrow_tasks.NarrowTaggingConfig(
      model=tagging.ModelConfig(
          encoder=narrow_encoder(), head_dropout=task.model.head_dropout,
          head_initializer_range=task.model.head_initializer_range),
      class_names=task.class_names,
      train_data=task.train_data,
      validation_data=task.validation_data)
  return config
