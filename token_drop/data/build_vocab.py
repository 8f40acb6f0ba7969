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

"""Learns a BERT WordPiece vocabulary from text, for corpora without one.

Wraps tensorflow-text's `bert_vocab_from_dataset` learner: lines are split
into words with BERT's `BasicTokenizer` (the splitting `BertTokenizer` and
tfm's `FullTokenizer` use), words are counted and WordPieces are learned from
the counts. Memory is bounded by the number of distinct words, not the corpus
size: lines are streamed, and `--max_lines` caps how many are read.
Counting runs in `--num_workers` processes over byte ranges of the files
(about 8 MB each), with a tqdm bar (rate, ETA); the counts, and so the
vocabulary, are the same for any number of workers.

Layout of the written vocabulary (one token per line, id = line number):

  0 [PAD], 1 [UNK], 2 [CLS], 3 [SEP], 4 [MASK],
  5 .. 4+N [unused0] .. [unusedN-1] (N = --num_unused_tokens, default 0),
  then single characters, then learned WordPieces by decreasing frequency,
  then [unused...] fill up to exactly --vocab_size (so the encoder's
  vocab_size can be set to --vocab_size).

[PAD] must be id 0: the TFRecord writer pads with 0 and tfm models take id 0
as padding. tfm and token_drop look the other special tokens up by name, so
their ids differ from Google's BERT vocabularies ([UNK]=100, [CLS]=101,
[SEP]=102, [MASK]=103) without harm.

Usage:
  python -m token_drop.data.build_vocab \
    --input_file=data/corpus/demo_train.txt --output_file=/tmp/vocab.txt \
    --vocab_size=8000
"""

import collections
import functools
import os
from typing import Dict, List, Optional, Sequence

from absl import flags
from absl import logging
import numpy as np
import tensorflow as tf
from tensorflow_text.python.ops import bert_tokenizer
from tensorflow_text.tools.wordpiece_vocab import (
    wordpiece_tokenizer_learner_lib as learner)

from token_drop.core import errors
from token_drop.data import checks
from token_drop.data import parallel_io

RESERVED_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')

FLAGS = flags.FLAGS


def define_flags():
  """Defines the CLI flags.

  Not at import time: tfm's create_pretraining_data module defines flags of
  the same names, and both modules may be imported in one process.
  """
  # Imported here, not at module level: the `spawn` workers re-import this
  # module, and importing the experiment registrations costs each of them
  # seconds.
  from experiments import common as experiments_common  # pylint: disable=g-import-not-at-top
  flags.DEFINE_string('input_file', None,
                      'Text files: comma-separated paths or globs.')
  flags.DEFINE_string('output_file', None, 'Vocabulary file to write.')
  flags.DEFINE_integer('vocab_size', experiments_common.VOCAB_SIZE,
                       'Exact size of the vocabulary.')
  flags.DEFINE_bool('do_lower_case', True,
                    'Lower-case and strip accents before learning (uncased).')
  flags.DEFINE_integer('num_unused_tokens', 0,
                       '[unusedI] tokens placed right after the reserved ones.')
  flags.DEFINE_integer('max_lines', 0,
                       'Read at most this many lines (0: all of them).')
  flags.DEFINE_integer('num_workers', 1,
                       'Processes counting words in parallel (same '
                       'vocabulary for any value).')
  flags.DEFINE_bool('progress', True,
                    'Show a progress bar (rate and ETA) on stderr.')


# Bytes of text per counting task: small enough for a steady progress bar
# and load balance, large enough that a task's overhead does not matter.
UNIT_BYTES = 8 << 20
_LINES_PER_BATCH = 4096


def _count_range(do_lower_case: bool, byte_range: parallel_io.ByteRange,
                 report) -> Dict[bytes, int]:
  """Counts BERT-split words in one byte range of a file (a task)."""
  tokenizer = bert_tokenizer.BasicTokenizer(lower_case=do_lower_case)
  reader = parallel_io.RangeLines([byte_range])
  counts = collections.Counter()
  reported = 0

  def count(batch):
    words = tokenizer.tokenize(tf.constant(batch)).flat_values.numpy()
    if words.size:
      # Counted in numpy, not word by word in Python.
      unique, number = np.unique(words, return_counts=True)
      counts.update(dict(zip(unique.tolist(), number.tolist())))

  batch = []
  for line in reader.lines():
    # Blank lines (document separators) hold no words.
    if line.strip():
      batch.append(line)
    if len(batch) >= _LINES_PER_BATCH:
      count(batch)
      batch = []
      report(reader.bytes_read - reported)
      reported = reader.bytes_read
  if batch:
    count(batch)
  report(reader.bytes_read - reported)
  return counts


def _line_limits(input_files: Sequence[str],
                 max_lines: int) -> List[Optional[int]]:
  """Per file, the byte offset after the first `max_lines` lines overall.

  None: the whole file; 0: none of it.
  """
  limits, remaining = [], max_lines
  for path in input_files:
    if remaining <= 0:
      limits.append(0)
      continue
    position = 0
    with parallel_io.open_binary(path) as reader:
      for line in reader:
        position += len(line)
        remaining -= 1
        if remaining == 0:
          break
    limits.append(position if remaining == 0 else None)
  return limits


def count_words(input_files: Sequence[str], do_lower_case=True, max_lines=0,
                num_workers=1, progress=False,
                unit_bytes=UNIT_BYTES) -> Dict[str, int]:
  """Counts words as BERT's BasicTokenizer splits them, in parallel.

  Args:
    input_files: Text files.
    do_lower_case: Lower-case and strip accents first.
    max_lines: If > 0, count the first `max_lines` lines only.
    num_workers: Processes; the counts do not depend on it.
    progress: Show a tqdm bar on stderr.
    unit_bytes: Bytes of text per task.

  Returns:
    Word -> count.
  """
  if num_workers < 1:
    raise ValueError(f'--num_workers={num_workers} must be >= 1.')
  limits = (_line_limits(input_files, max_lines) if max_lines > 0
            else [None] * len(input_files))
  ranges = []
  for path, limit in zip(input_files, limits):
    if limit != 0:
      ranges.extend(parallel_io.line_aligned_ranges(path, unit_bytes, limit))
  total = sum(end - start for _, start, end in ranges)
  counts = collections.Counter()
  for _, result in parallel_io.run_tasks(
      functools.partial(_count_range, do_lower_case), ranges, num_workers,
      total, 'count words', progress):
    counts.update(result)
  return {word.decode('utf-8'): n for word, n in counts.items()}


def build_vocab(input_files: Sequence[str], vocab_size: int,
                do_lower_case=True, num_unused_tokens=0,
                max_lines=0, learn_params=None, num_workers=1,
                progress=False) -> List[str]:
  """Learns a WordPiece vocabulary of exactly `vocab_size` tokens.

  Args:
    input_files: Text files, one sentence (or any text) per line.
    vocab_size: Size of the returned vocabulary.
    do_lower_case: Uncased vocabulary (use the same value to tokenize).
    num_unused_tokens: [unusedI] tokens right after the reserved tokens.
    max_lines: If > 0, learn from the first `max_lines` lines only.
    learn_params: Extra arguments of tensorflow-text's
      `wordpiece_tokenizer_learner_lib.learn` (e.g. `slack_ratio`,
      `num_iterations`).
    num_workers: Processes counting words (same result for any value).
    progress: Show a tqdm bar on stderr.

  Returns:
    The tokens, id = index (layout in the module docstring).

  Raises:
    ValueError: vocab_size leaves no room for learned tokens.
  """
  reserved = list(RESERVED_TOKENS) + [
      f'[unused{i}]' for i in range(num_unused_tokens)]
  if vocab_size <= len(reserved):
    raise ValueError(f'--vocab_size={vocab_size} must exceed the '
                     f'{len(reserved)} reserved tokens.')
  word_counts = count_words(input_files, do_lower_case, max_lines,
                            num_workers, progress)
  # Sorted, so that the learner sees the same order for any num_workers.
  word_counts = sorted(word_counts.items(), key=lambda item: (-item[1],
                                                              item[0]))
  vocab = learner.learn(word_counts, vocab_size, reserved,
                        **(learn_params or {}))
  if len(vocab) > vocab_size:
    # The learner orders tokens by frequency after the reserved tokens and
    # single characters, so the cut drops the rarest WordPieces.
    logging.warning('Learner returned %d tokens; keeping the first %d.',
                    len(vocab), vocab_size)
    vocab = vocab[:vocab_size]
  num_unused = num_unused_tokens
  while len(vocab) < vocab_size:
    vocab.append(f'[unused{num_unused}]')
    num_unused += 1
  return vocab


def main(_):
  """Builds the vocabulary the flags describe and writes it."""
  input_files = checks.expand_input_path(FLAGS.input_file)
  vocab = build_vocab(input_files, FLAGS.vocab_size, FLAGS.do_lower_case,
                      FLAGS.num_unused_tokens, FLAGS.max_lines,
                      num_workers=FLAGS.num_workers, progress=FLAGS.progress)
  directory = os.path.dirname(FLAGS.output_file)
  if directory:
    tf.io.gfile.makedirs(directory)
  with tf.io.gfile.GFile(FLAGS.output_file, 'w') as f:
    f.write(''.join(token + '\n' for token in vocab))
  learned = sum(not t.startswith('[unused') for t in vocab) - len(
      RESERVED_TOKENS)
  print(f'Wrote {len(vocab)} tokens ({learned} learned) to '
        f'{FLAGS.output_file}; ' +
        ', '.join(f'{t}={i}' for i, t in enumerate(RESERVED_TOKENS)))


if __name__ == '__main__':
  define_flags()
  flags.mark_flag_as_required('input_file')
  flags.mark_flag_as_required('output_file')
  errors.run_main(main)
