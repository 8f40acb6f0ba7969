"""Learns a BERT WordPiece vocabulary from text, for corpora without one.

Wraps tensorflow-text's `bert_vocab_from_dataset` learner: lines are split
into words with BERT's `BasicTokenizer` (the splitting `BertTokenizer` and
tfm's `FullTokenizer` use), words are counted and WordPieces are learned from
the counts. Memory is bounded by the number of distinct words, not the corpus
size: lines are streamed, and `--max_lines` caps how many are read.

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
  python -m token_drop.data.build_vocab --input_file=data/corpus/demo_train.txt \
    --output_file=/tmp/vocab.txt --vocab_size=8000
"""

import os
from typing import List, Sequence

from absl import flags
from absl import logging
import tensorflow as tf
from tensorflow_text.tools.wordpiece_vocab import bert_vocab_from_dataset

from token_drop.core import errors
from token_drop.data import checks

RESERVED_TOKENS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')

FLAGS = flags.FLAGS


def define_flags():
  """Defines the CLI flags.

  Not at import time: tfm's create_pretraining_data module defines flags of
  the same names, and both modules may be imported in one process.
  """
  flags.DEFINE_string('input_file', None,
                      'Text files: comma-separated paths or globs.')
  flags.DEFINE_string('output_file', None, 'Vocabulary file to write.')
  flags.DEFINE_integer('vocab_size', 30522, 'Exact size of the vocabulary.')
  flags.DEFINE_bool('do_lower_case', True,
                    'Lower-case and strip accents before learning (uncased).')
  flags.DEFINE_integer('num_unused_tokens', 0,
                       '[unusedI] tokens placed right after the reserved ones.')
  flags.DEFINE_integer('max_lines', 0,
                       'Read at most this many lines (0: all of them).')


def build_vocab(input_files: Sequence[str], vocab_size: int,
                do_lower_case=True, num_unused_tokens=0,
                max_lines=0, learn_params=None) -> List[str]:
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
  lines = tf.data.TextLineDataset(list(input_files))
  if max_lines > 0:
    lines = lines.take(max_lines)
  # Blank lines (document separators) hold no words.
  lines = lines.filter(lambda line: tf.strings.length(line) > 0).batch(1024)
  vocab = bert_vocab_from_dataset.bert_vocab_from_dataset(
      lines, vocab_size=vocab_size, reserved_tokens=reserved,
      bert_tokenizer_params={'lower_case': do_lower_case},
      learn_params=learn_params)
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
  input_files = checks.expand_input_path(FLAGS.input_file)
  vocab = build_vocab(input_files, FLAGS.vocab_size, FLAGS.do_lower_case,
                      FLAGS.num_unused_tokens, FLAGS.max_lines)
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
