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

"""Input checks that fail fast, naming the file, key or value at fault.

A bad input found by tf.data mid-run costs the work done so far and gives an
error that names neither the file nor the setting; these checks run when the
data loaders are built, before the first training step.
"""

import os
from typing import Dict, List, Optional

import tensorflow as tf
from token_drop.core import errors

# Above this many bytes of TFRecords only the first records of each file are
# read before training; corruption further in surfaces at run time.
FULL_SCAN_BYTES = 256 * 1024 * 1024
_PARTIAL_SCAN_RECORDS = 64
_READ_CHUNK = 1 << 20


class InputDataError(errors.UserError):
  """An input file or data setting cannot be used as configured."""


def expand_input_path(input_path) -> List[str]:
  """Expands comma-separated globs (or a list of them) to a list of files.

  Args:
    input_path: A string of comma-separated file patterns, or a list of them.

  Returns:
    The matching files, in pattern order.

  Raises:
    InputDataError: a pattern matches nothing, or every matched file is empty.
  """
  patterns = input_path if isinstance(input_path, (list, tuple)) else [
      input_path]
  patterns = [p.strip() for item in patterns for p in str(item).split(',')
              if p.strip()]
  if not patterns:
    raise InputDataError('input_path is empty: set task.train_data.input_path '
                         '(and task.validation_data.input_path).')
  files = []
  for pattern in patterns:
    matched = sorted(tf.io.gfile.glob(pattern))
    if not matched:
      raise InputDataError(
          f'input_path pattern {pattern!r} matches no files (relative paths '
          f'are resolved from {os.getcwd()}).')
    files.extend(matched)
  if all(tf.io.gfile.stat(f).length == 0 for f in files):
    raise InputDataError(
        f'input_path {",".join(patterns)!r}: every matched file is empty: '
        f'{files[:5]}')
  return files


def read_vocab(vocab_file: str) -> Dict[str, int]:
  """Reads a WordPiece vocabulary (token per line, id = line number)."""
  if not vocab_file:
    raise InputDataError('vocab_file is not set; it is required to read text.')
  if not tf.io.gfile.exists(vocab_file):
    raise InputDataError(f'vocab_file {vocab_file!r} does not exist.')
  with tf.io.gfile.GFile(vocab_file) as f:
    tokens = [line.rstrip('\n') for line in f]
  if not tokens:
    raise InputDataError(f'vocab_file {vocab_file!r} is empty.')
  return {token: i for i, token in enumerate(tokens)}


def special_id(vocab: Dict[str, int], token: str, vocab_file: str) -> int:
  """The id of a special token such as [MASK]; raises naming the file."""
  if token not in vocab:
    raise InputDataError(
        f'vocab_file {vocab_file!r} has no {token} token; a BERT WordPiece '
        'vocabulary needs [PAD], [UNK], [CLS], [SEP] and [MASK].')
  return vocab[token]


def check_vocab_size(vocab_file: str, vocab_size: int, where: str) -> None:
  """Checks that the vocabulary has as many entries as the embedding table."""
  size = len(read_vocab(vocab_file))
  if size != vocab_size:
    raise InputDataError(
        f'vocab_file {vocab_file!r} has {size} entries but {where} is '
        f'{vocab_size}; they must be equal.')


def _feature_length(example: tf.train.Example, name: str) -> int:
  feature = example.features.feature[name]
  kind = feature.WhichOneof('kind')
  return len(getattr(feature, kind).value) if kind else 0


def check_pretrain_tfrecords(files: List[str], params) -> None:
  """Checks that pretraining TFRecords are readable and fit the config.

  Args:
    files: TFRecord files.
    params: A `BertPretrainDataConfig` (seq_length, max_predictions_per_seq,
      use_v2_feature_names, use_next_sentence_label, file_type).

  Raises:
    InputDataError: a file is corrupt, or a record lacks a feature or has a
      feature length other than the config's.
  """
  compression = 'GZIP' if params.file_type == 'tfrecord_compressed' else None
  ids_name = 'input_word_ids' if params.use_v2_feature_names else 'input_ids'
  seq = (params.seq_length, 'seq_length')
  preds = (params.max_predictions_per_seq, 'max_predictions_per_seq')
  expected = {ids_name: seq, 'input_mask': seq, 'masked_lm_positions': preds,
              'masked_lm_ids': preds, 'masked_lm_weights': preds}
  if params.use_next_sentence_label:
    expected['next_sentence_labels'] = (1, 'use_next_sentence_label')
  full_scan = sum(tf.io.gfile.stat(f).length for f in files) <= FULL_SCAN_BYTES
  for path in files:
    dataset = tf.data.TFRecordDataset(path, compression_type=compression)
    if not full_scan:
      dataset = dataset.take(_PARTIAL_SCAN_RECORDS)
    first = None
    try:
      for record in dataset:
        if first is None:
          first = record.numpy()
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
      raise InputDataError(
          f'TFRecord file {path!r} is corrupt or not a TFRecord '
          f'(file_type={params.file_type!r}): {e.message}') from None
    if first is None:
      continue
    try:
      example = tf.train.Example.FromString(first)
    except Exception as e:  # pylint: disable=broad-except
      raise InputDataError(
          f'{path!r}: the first record is not a tf.train.Example: {e}'
      ) from None
    present = set(example.features.feature.keys())
    for name, (length, key) in expected.items():
      if name not in present:
        hint = (' (set use_v2_feature_names to match the file)'
                if name in ('input_ids', 'input_word_ids') else '')
        raise InputDataError(
            f'{path!r}: records have no feature {name!r}{hint}; they have '
            f'{sorted(present)}.')
      actual = _feature_length(example, name)
      if actual != length:
        raise InputDataError(
            f'{path!r}: feature {name!r} has length {actual} but the config '
            f'expects {length} ({key}); the data was built with other '
            'settings than the config.')


def _first_bad_utf8(path: str, budget: int):
  """(offset, bytes) of the first invalid UTF-8 in `path`, and text seen.

  Reads at most `budget` bytes.

  Returns:
    A tuple (bad, has_text): `bad` is None or (byte offset, the offending
    bytes); `has_text` is whether a non-blank character was seen.
  """
  has_text = False
  base = 0  # File offset of data[0].
  carry = b''
  with tf.io.gfile.GFile(path, 'rb') as f:
    while base + len(carry) < budget:
      chunk = f.read(_READ_CHUNK)
      data = carry + chunk
      if not data:
        break
      try:
        text = data.decode('utf-8')
        carry = b''
      except UnicodeDecodeError as e:
        # A character cut by the chunk end is completed by the next read.
        if chunk and e.reason == 'unexpected end of data':
          text, carry = data[:e.start].decode('utf-8'), data[e.start:]
        else:
          return (base + e.start, data[e.start:e.start + 4]), has_text
      has_text = has_text or bool(text.strip())
      base += len(data) - len(carry)
      if not chunk:
        break
  return None, has_text


def check_text_files(files: List[str], key: str = 'input_path') -> None:
  """Checks that text input is UTF-8 and holds at least one non-blank line.

  A Latin-1 corpus would silently become [UNK]s, and one of blank lines would
  train on padding. Up to `FULL_SCAN_BYTES` are read (all of a small corpus).

  Args:
    files: The text files.
    key: The config key or flag that named them, for the message.

  Raises:
    InputDataError: naming the file and the byte offset of the first invalid
      UTF-8, or the files when none holds any text.
  """
  budget = FULL_SCAN_BYTES
  any_text = False
  for path in files:
    if budget <= 0:
      any_text = True  # Not read; assume text rather than fail.
      break
    bad, has_text = _first_bad_utf8(path, budget)
    if bad is not None:
      offset, raw = bad
      raise InputDataError(
          f'{key} file {path!r} is not valid UTF-8 at byte offset {offset} '
          f'(bytes {raw!r}); text input must be UTF-8 (convert it, e.g. with '
          'iconv -f latin1 -t utf-8).')
    any_text = any_text or has_text
    budget -= tf.io.gfile.stat(path).length
  if not any_text:
    raise InputDataError(
        f'{key} files {files[:5]} hold only blank lines, so they yield no '
        'tokens; text input is one sentence per line, a blank line between '
        'documents.')


def check_finetuning_tfrecords(files: List[str], seq_length: int,
                               vocab_size: Optional[int], key: str) -> None:
  """Checks fine-tuning TFRecords against seq_length and the vocabulary size.

  Reads the first records of each file: their `input_ids` must have
  `seq_length` entries and ids below `vocab_size` (the encoder's embedding
  table), or the run would fail at its first step with a reshape or gather
  error that names neither.

  Args:
    files: TFRecord files (tfm's sentence prediction or tagging layout).
    seq_length: The data config's seq_length.
    vocab_size: The encoder's vocab_size, or None to skip that check.
    key: The config key of the data, e.g. `task.train_data`.

  Raises:
    InputDataError: naming the file, the key and the values.
  """
  for path in files:
    dataset = tf.data.TFRecordDataset(path).take(_PARTIAL_SCAN_RECORDS)
    try:
      records = [r.numpy() for r in dataset]
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
      raise InputDataError(f'TFRecord file {path!r} ({key}.input_path) is '
                           f'corrupt or not a TFRecord: {e.message}') from None
    for record in records:
      try:
        example = tf.train.Example.FromString(record)
      except Exception as e:  # pylint: disable=broad-except
        raise InputDataError(
            f'{path!r} ({key}.input_path): a record is not a tf.train.Example:'
            f' {e}') from None
      if 'input_ids' not in example.features.feature:
        raise InputDataError(
            f'{path!r} ({key}.input_path): records have no feature '
            f"'input_ids'; they have {sorted(example.features.feature)}.")
      ids = example.features.feature['input_ids'].int64_list.value
      if len(ids) != seq_length:
        raise InputDataError(
            f"{path!r}: feature 'input_ids' has length {len(ids)} but "
            f'{key}.seq_length is {seq_length}; build the data with the same '
            'sequence length.')
      if vocab_size and ids and max(ids) >= vocab_size:
        raise InputDataError(
            f'{path!r}: token id {max(ids)} is outside task.model.encoder '
            f'vocab_size={vocab_size}; the data was built with a larger '
            'vocabulary than the model\'s.')
