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

"""Fine-tuning inputs read straight from TSV/CSV or CoNLL files.

`SentencePredictionRawDataConfig` and `TaggingRawDataConfig` extend tfm's
`SentencePredictionDataConfig` / `TaggingDataConfig` with a `source_path`.
When it is set, the loader converts the file once with
`token_drop.data.finetuning_data` (the same code as the
`create_finetuning_data` command), caches the TFRecords under `cache_dir`
keyed by the file's path, size and mtime and every conversion setting, and
then reads them with tfm's own loader; when it is empty, `input_path` names
TFRecords as in tfm. The experiments `finetuning/sentence_prediction` and
`finetuning/tagging` (experiments/finetuning.py) use these configs, so a
fine-tuning run is one train.py command on the raw files.
"""

import dataclasses
import os
import tempfile
from typing import List, Optional

from absl import logging
import tensorflow as tf

from official.nlp.data import data_loader_factory
from official.nlp.data import sentence_prediction_dataloader as tfm_sp
from official.nlp.data import tagging_dataloader as tfm_tagging
from token_drop.data import checks
from token_drop.data import finetuning_data


def default_cache_dir() -> str:
  """The default cache folder, in the temporary folder."""
  return os.path.join(tempfile.gettempdir(), 'token_drop_finetuning_data')


@dataclasses.dataclass
class SentencePredictionRawDataConfig(tfm_sp.SentencePredictionDataConfig):
  """Sentence (pair) classification data from TFRecords or a TSV/CSV file.

  Attributes:
    source_path: TSV/CSV file with a header; when set, `input_path` is
      ignored and the TFRecords are built (once) from this file.
    text_column: Column of the first sentence (name or 0-based index).
    text_b_column: Column of the second sentence for pair tasks, or ''.
    label_column: Column of the label.
    label_list: Label strings in id order; when unset, the labels must be
      integer ids.
    delimiter: Field delimiter; '' picks it from the extension (.tsv, .csv).
    vocab_file: WordPiece vocabulary of the encoder.
    do_lower_case: Lower-case before WordPiece (uncased vocabularies).
    cache_dir: Where built TFRecords go ('' = a folder in the system temp dir).
    window_stride: Training data augmentation for distillation: when > 0, a
      text longer than the sequence also yields word-aligned windows starting
      every `window_stride` word pieces, each with the text's label
      (`finetuning_data.window_examples`). Single-sentence training data only.
    mask_rate: Training data augmentation for distillation: each word piece
      of a training example (not [CLS], [SEP] or padding) becomes [MASK] with
      this probability, drawn afresh every epoch (masking in Tang et al.
      2019). Needs `vocab_file` for the ids of those tokens.
  """
  source_path: str = ''
  text_column: str = 'sentence'
  text_b_column: str = ''
  label_column: str = 'label'
  label_list: Optional[List[str]] = None
  delimiter: str = ''
  vocab_file: str = ''
  do_lower_case: bool = True
  cache_dir: str = ''
  window_stride: int = 0
  mask_rate: float = 0.0


@dataclasses.dataclass
class TaggingRawDataConfig(tfm_tagging.TaggingDataConfig):
  """Token classification data from TFRecords or a CoNLL-style file.

  Attributes:
    source_path: CoNLL-style file (token ... tag per line, blank line between
      sentences); when set, `input_path` is ignored.
    label_list: Tags in id order; must equal the task's `class_names` (checked
      when the experiment config is validated; use a
      YAML anchor to write them once).
    vocab_file: WordPiece vocabulary of the encoder.
    do_lower_case: Lower-case before WordPiece.
    cache_dir: Where built TFRecords go ('' = a folder in the system temp dir).
  """
  source_path: str = ''
  label_list: Optional[List[str]] = None
  vocab_file: str = ''
  do_lower_case: bool = True
  cache_dir: str = ''


def _require_vocab(params, kind: str):
  if not params.vocab_file:
    raise checks.InputDataError(
        f'{kind} data {params.source_path!r}: vocab_file is not set; it is '
        'required to build TFRecords from text.')


def _cached_path(params, **settings) -> str:
  cache_dir = params.cache_dir or default_cache_dir()
  os.makedirs(cache_dir, exist_ok=True)
  key = finetuning_data.cache_key(params.source_path, params.vocab_file,
                                  **settings)
  stem = os.path.splitext(os.path.basename(params.source_path))[0]
  return os.path.join(cache_dir, f'{stem}-{key}.tfrecord')


def build_sentence_prediction_records(
    params: SentencePredictionRawDataConfig) -> str:
  """Builds (or finds cached) TFRecords for `params`; returns their path."""
  _require_vocab(params, 'sentence prediction')
  columns = [params.text_column] + (
      [params.text_b_column] if params.text_b_column else [])
  settings = dict(kind='sentence_prediction', columns=columns,
                  label_column=params.label_column,
                  label_list=params.label_list, delimiter=params.delimiter,
                  do_lower_case=params.do_lower_case,
                  seq_length=params.seq_length)
  if params.window_stride:
    # Windows would be scored as separate examples in an evaluation.
    if not params.is_training or params.text_b_column:
      raise checks.InputDataError(
          f'data {params.source_path!r}: window_stride='
          f'{params.window_stride} augments single-sentence training data '
          'only (is_training true, no text_b_column); set it to 0 here.')
    settings['window_stride'] = params.window_stride
  if not os.path.exists(params.source_path):
    raise checks.InputDataError(
        f'fine-tuning data {params.source_path!r} does not exist (relative '
        f'paths are resolved from {os.getcwd()}).')
  path = _cached_path(params, **settings)
  if os.path.exists(path):
    logging.info('Using cached TFRecords %s for %s', path, params.source_path)
    return path
  examples, label_list = finetuning_data.classification_examples(
      params.source_path, columns, params.label_column, params.label_list,
      params.delimiter)
  if params.window_stride:
    examples = finetuning_data.window_examples(
        examples, params.vocab_file, params.do_lower_case, params.seq_length,
        params.window_stride)
  count = finetuning_data.write_atomically(
      path, lambda tmp: finetuning_data.write_classification(
          examples, label_list, params.vocab_file, params.do_lower_case,
          params.seq_length, tmp))
  logging.info('Wrote %d examples (labels %s) of %s to %s', count, label_list,
               params.source_path, path)
  return path


def check_tag_order(task_config) -> None:
  """Raises if a tagging data config's label_list differs from class_names.

  The model's class i is `task.class_names[i]` (seqeval names the entities
  from it), while the TFRecords built from text give each tag its index in
  `label_list`; different orders would train and score the wrong tags without
  any error.

  Args:
    task_config: A tagging task config (`class_names`, `train_data`,
      `validation_data`).

  Raises:
    ValueError: naming both keys and lists.
  """
  for name in ('train_data', 'validation_data'):
    data = getattr(task_config, name, None)
    if not isinstance(data, TaggingRawDataConfig) or not data.source_path:
      continue
    if data.label_list and list(data.label_list) != list(
        task_config.class_names):
      raise ValueError(
          f'task.{name}.label_list={list(data.label_list)} differs from '
          f'task.class_names={list(task_config.class_names)}; they must list '
          'the same tags in the same order (write them once with a YAML '
          'anchor, as configs/demo/tagging_demo.yaml does).')


def build_tagging_records(params: TaggingRawDataConfig) -> str:
  """Builds (or finds cached) TFRecords for `params`; returns their path."""
  _require_vocab(params, 'tagging')
  if not params.label_list:
    raise checks.InputDataError(
        f'tagging data {params.source_path!r}: label_list is not set; set it '
        'to the task\'s class_names (same order).')
  if not os.path.exists(params.source_path):
    raise checks.InputDataError(
        f'fine-tuning data {params.source_path!r} does not exist (relative '
        f'paths are resolved from {os.getcwd()}).')
  path = _cached_path(params, kind='tagging', label_list=params.label_list,
                      do_lower_case=params.do_lower_case,
                      seq_length=params.seq_length)
  if os.path.exists(path):
    logging.info('Using cached TFRecords %s for %s', path, params.source_path)
    return path
  examples, _ = finetuning_data.read_conll(params.source_path,
                                           params.label_list)
  count = finetuning_data.write_atomically(
      path, lambda tmp: finetuning_data.write_tagging(
          examples, params.vocab_file, params.do_lower_case,
          params.seq_length, tmp))
  logging.info('Wrote %d records (%d sentences) of %s to %s', count,
               len(examples), params.source_path, path)
  return path


@data_loader_factory.register_data_loader_cls(SentencePredictionRawDataConfig)
class SentencePredictionRawDataLoader(tfm_sp.SentencePredictionDataLoader):
  """tfm's sentence prediction loader on TFRecords built from `source_path`."""

  def __init__(self, params: SentencePredictionRawDataConfig):
    self._mask_ids = None
    self._mask_rate = params.mask_rate
    if params.mask_rate:
      if not 0 < params.mask_rate < 1 or not params.is_training:
        raise checks.InputDataError(
            f'data {params.source_path or params.input_path!r}: mask_rate='
            f'{params.mask_rate} must be in (0, 1) and on training data '
            '(is_training true).')
      vocab = checks.read_vocab(params.vocab_file)
      self._mask_ids = [checks.special_id(vocab, t, params.vocab_file)
                        for t in ('[MASK]', '[CLS]', '[SEP]')]
    if params.window_stride and not params.source_path:
      # Windows are cut from the text; TFRecords hold it truncated already.
      raise checks.InputDataError(
          f'data {params.input_path!r}: window_stride={params.window_stride} '
          'needs source_path (a text file), not TFRecords.')
    if params.source_path:
      params = params.replace(
          input_path=build_sentence_prediction_records(params))
    elif params.input_path:
      checks.expand_input_path(params.input_path)
    super().__init__(params)

  def _parse(self, record):
    features = super()._parse(record)
    if self._mask_ids:
      mask, cls, sep = self._mask_ids
      ids = features['input_word_ids']
      # Stateful, so one training iterator draws new masks every epoch. Not
      # repeatable: tfm's reader maps in parallel, so which example gets
      # which draw varies from run to run even with an op seed.
      draw = tf.random.uniform(tf.shape(ids))
      hit = ((draw < self._mask_rate)
             & (features['input_mask'] > 0) & (ids != cls) & (ids != sep))
      features['input_word_ids'] = tf.where(hit, mask, ids)
    return features


@data_loader_factory.register_data_loader_cls(TaggingRawDataConfig)
class TaggingRawDataLoader(tfm_tagging.TaggingDataLoader):
  """tfm's tagging loader on TFRecords built from `source_path`."""

  def __init__(self, params: TaggingRawDataConfig):
    if params.source_path:
      params = params.replace(input_path=build_tagging_records(params))
    elif params.input_path:
      checks.expand_input_path(params.input_path)
    super().__init__(params)
