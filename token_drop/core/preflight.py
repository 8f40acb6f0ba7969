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

"""Consistency checks between the model and data configs, run before training.

The data loaders check their own files when they are built (before the first
step too); this module checks what needs both the model and the data config.
"""

from typing import Optional

from official.core import config_definitions as cfg
from official.nlp.data import sentence_prediction_dataloader as tfm_sp
from official.nlp.data import tagging_dataloader as tfm_tagging
from token_drop.data import checks


def encoder_config(params: cfg.ExperimentConfig):
  """The active encoder config of a task, or None when the task has none."""
  model = getattr(params.task, 'model', None)
  encoder = getattr(model, 'encoder', None)
  if encoder is None:
    return None
  return encoder.get() if hasattr(encoder, 'get') else encoder


def _get(config, name) -> Optional[int]:
  value = getattr(config, name, None) if config is not None else None
  return value if isinstance(value, int) else None


def _encoder_errors(params: cfg.ExperimentConfig) -> None:
  """Raises `checks.InputDataError` on encoder settings no model can have.

  The encoder constructors raise a bare ValueError deep in the model build;
  this names the key first.
  """
  model = getattr(params.task, 'model', None)
  encoder = getattr(model, 'encoder', None)
  config = encoder_config(params)
  if config is None:
    return
  prefix = f'task.model.encoder.{getattr(encoder, "type", "")}'.rstrip('.')
  keep_k = _get(config, 'token_keep_k')
  if keep_k is not None and keep_k < 1:
    raise checks.InputDataError(
        f'{prefix}.token_keep_k={keep_k}: expected an integer >= 1 (the '
        'number of tokens the middle layers keep).')
  allow = set(getattr(config, 'token_allow_list', None) or ())
  deny = set(getattr(config, 'token_deny_list', None) or ())
  if allow & deny:
    raise checks.InputDataError(
        f'{prefix}.token_allow_list and token_deny_list share ids '
        f'{sorted(allow & deny)}; an id cannot be both.')


def check(params: cfg.ExperimentConfig) -> None:
  """Raises `checks.InputDataError` on a model/data mismatch.

  Pretraining and fine-tuning data get the same checks: seq_length against
  the encoder's max_position_embeddings, the data's vocab_file against its
  vocab_size, and, for fine-tuning TFRecords (no vocab_file to compare), the
  records' length and token ids.

  Args:
    params: The parsed experiment config.
  """
  _encoder_errors(params)
  encoder = encoder_config(params)
  max_positions = _get(encoder, 'max_position_embeddings')
  vocab_size = _get(encoder, 'vocab_size')
  for name in ('train_data', 'validation_data'):
    data = getattr(params.task, name, None)
    source = getattr(data, 'source_path', '') if data is not None else ''
    if data is None or not (getattr(data, 'input_path', None) or source):
      continue
    seq_length = _get(data, 'seq_length')
    if seq_length and max_positions and seq_length > max_positions:
      raise checks.InputDataError(
          f'task.{name}.seq_length={seq_length} is larger than '
          f'task.model.encoder max_position_embeddings={max_positions}.')
    vocab_file = getattr(data, 'vocab_file', None)
    if vocab_file and vocab_size:
      checks.check_vocab_size(vocab_file, vocab_size,
                              'task.model.encoder vocab_size')
    if not source and seq_length and isinstance(
        data, (tfm_sp.SentencePredictionDataConfig,
               tfm_tagging.TaggingDataConfig)):
      checks.check_finetuning_tfrecords(
          checks.expand_input_path(data.input_path), seq_length, vocab_size,
          f'task.{name}')
