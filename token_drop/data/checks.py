"""Input checks that fail fast, naming the file, key or value at fault.

A bad input found by tf.data mid-run costs the work done so far and gives an
error that names neither the file nor the setting; these checks run when the
data loaders are built, before the first training step.
"""

import os
from typing import Dict, List

import tensorflow as tf
from token_drop.core import errors

# Above this many bytes of TFRecords only the first records of each file are
# read before training; corruption further in surfaces at run time.
FULL_SCAN_BYTES = 256 * 1024 * 1024
_PARTIAL_SCAN_RECORDS = 64


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
