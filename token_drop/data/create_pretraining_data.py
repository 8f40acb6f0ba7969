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

"""Masked-LM (and optional NSP) TFRecords from text, in bounded memory.

Same flags, text format and TFRecord layout as tfm's
`official/nlp/data/create_pretraining_data.py` (its flags are reused as they
are; its tokenizers, `create_instances_from_document`,
`create_masked_lm_predictions` and feature helpers do the work), with these
differences:

* Memory. tfm reads the whole corpus and every masked copy into memory before
  writing anything. Here the corpus is streamed in chunks of at most
  `--documents_per_chunk` documents and `--max_lines_per_chunk` lines; each
  chunk is tokenized, its documents are shuffled, and each of the
  `--dupe_factor` masking rounds is shuffled and written at once. The random
  "next sentence" of NSP is drawn from the current chunk, and documents and
  instances are shuffled within a chunk only (the TFRecord loader shuffles
  files and records again at training time). A document longer than
  `--max_lines_per_chunk` lines is split there.
* Shards and workers. A first pass records where each document starts
  (8 bytes per document). Output shard i then holds the i-th of N
  contiguous parts of the documents with equal document counts, masked with
  a generator seeded by (`--random_seed`, i), and is one task: with
  `--num_workers=W`, W processes write whole shards, and the files are the
  same for any W. Each shard is written to `PATH.incomplete` and renamed
  when complete; `.PATH.progress.json` beside the first shard records the
  settings and the finished shards, so a killed run started again with the
  same flags skips them (`--noresume` rewrites all). tqdm bars show bytes
  done, rate and ETA.
* `--nouse_next_sentence_label`: no NSP. Each document's tokens are packed
  into `[CLS] ... [SEP]` sequences that fill `--max_seq_length` (a sentence
  may span two sequences), all with segment id 0, and no
  `next_sentence_labels` feature is written.
* `--num_output_shards=N` with one `--output_file=PATH` writes
  `PATH-00000-of-0000N` ...; a comma-separated `--output_file` names the
  shards explicitly. The end of an input file also ends its last document.

Input format: UTF-8, one sentence per line, a blank line between documents.

Usage:
  python -m token_drop.data.create_pretraining_data \
    --input_file=data/corpus/demo_train.txt \
    --vocab_file=data/vocab/bert_en_uncased_vocab.txt \
    --output_file=/tmp/demo/train.tfrecord --num_output_shards=4 \
    --max_seq_length=128 --max_predictions_per_seq=20 --dupe_factor=5 \
    --nouse_next_sentence_label --use_v2_feature_names --num_workers=2
"""

import array
import bisect
import collections
import dataclasses
import functools
import hashlib
import json
import os
import pickle
import random
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Sequence)

from absl import flags
from absl import logging
import tensorflow as tf
import tqdm

# Importing tfm's module also defines its flags (input_file, output_file,
# vocab_file, do_lower_case, max_seq_length, ...), which this CLI accepts.
from official.nlp.data import create_pretraining_data as tfm_data
from official.nlp.tools import tokenization
from token_drop.core import errors
from token_drop.data import checks
from token_drop.data import parallel_io

FLAGS = flags.FLAGS

flags.DEFINE_bool(
    'use_next_sentence_label', True,
    'Build [CLS] A [SEP] B [SEP] pairs with next-sentence labels (BERT). '
    'With --nouse_next_sentence_label, pack whole documents into full '
    'sequences for masked LM only.')
flags.DEFINE_integer(
    'num_output_shards', 1,
    'Number of output files when --output_file is a single path: '
    'PATH-00000-of-0000N, ... Instances are written round-robin.')
flags.DEFINE_integer(
    'documents_per_chunk', 1000,
    'Documents held in memory at once; NSP random next sentences and '
    'shuffling are drawn within a chunk.')
flags.DEFINE_integer(
    'max_lines_per_chunk', 20000,
    'Upper bound on the lines (sentences) held in memory at once; a longer '
    'document is split into several documents.')
flags.DEFINE_integer(
    'num_workers', 1,
    'Processes writing shards in parallel (use the machine\'s cores). The '
    'output is the same for any value: shard i holds the i-th contiguous '
    'part of the documents, masked with seed (random_seed, i).')
flags.DEFINE_bool(
    'resume', True,
    'Skip shards that an earlier run with the same flags and inputs '
    'finished (a killed run goes on where it stopped).')
flags.DEFINE_bool('progress', True,
                  'Show progress bars (rate and ETA) on stderr.')

SPECIAL_TOKENS = ('[UNK]', '[CLS]', '[SEP]', '[MASK]')


def shard_paths(output_file: str, num_output_shards: int) -> List[str]:
  """Returns the output files for `--output_file` and `--num_output_shards`.

  Args:
    output_file: One path, or comma-separated paths (one per shard).
    num_output_shards: Number of shards for a single path; with several
      paths it must be 1 or their number.

  Returns:
    The list of output files.

  Raises:
    errors.UserError: the two flags disagree or a value is out of range.
  """
  paths = [p.strip() for p in output_file.split(',') if p.strip()]
  if not paths:
    raise errors.UserError('--output_file is empty.')
  if num_output_shards < 1:
    raise errors.UserError(
        f'--num_output_shards={num_output_shards} must be >= 1.')
  if len(paths) > 1:
    if num_output_shards not in (1, len(paths)):
      raise errors.UserError(
          f'--output_file names {len(paths)} files but --num_output_shards='
          f'{num_output_shards}; give one path or leave the shard count at 1.')
    if len(set(paths)) != len(paths):
      raise errors.UserError(f'--output_file repeats a path: {output_file!r}')
    return paths
  if num_output_shards == 1:
    return paths
  return [f'{paths[0]}-{i:05d}-of-{num_output_shards:05d}'
          for i in range(num_output_shards)]


def chunk_documents(lines: Iterable[str], documents_per_chunk: int,
                    max_lines_per_chunk: int) -> Iterator[List[List[str]]]:
  """Groups a stream of lines into bounded chunks of documents.

  Reads `lines` lazily: a chunk is yielded as soon as it holds
  `documents_per_chunk` documents or `max_lines_per_chunk` lines, so at most
  one chunk (plus the line being read) is in memory. A document reaching the
  line limit is cut there; its remainder starts the next chunk.

  Args:
    lines: Stripped lines; an empty line ends a document.
    documents_per_chunk: Maximum documents per chunk.
    max_lines_per_chunk: Maximum non-empty lines per chunk.

  Yields:
    Lists of documents, each a non-empty list of non-empty lines.
  """
  if documents_per_chunk < 1 or max_lines_per_chunk < 1:
    raise ValueError(
        f'documents_per_chunk={documents_per_chunk} and max_lines_per_chunk='
        f'{max_lines_per_chunk} must be >= 1.')
  chunk, document, num_lines = [], [], 0
  for line in lines:
    if not line:
      if document:
        chunk.append(document)
        document = []
        if len(chunk) >= documents_per_chunk:
          yield chunk
          chunk, num_lines = [], 0
      continue
    document.append(line)
    num_lines += 1
    if num_lines >= max_lines_per_chunk:
      chunk.append(document)
      yield chunk
      chunk, document, num_lines = [], [], 0
  if document:
    chunk.append(document)
  if chunk:
    yield chunk


def create_packed_instances_from_document(
    document: List[List[str]], max_seq_length: int, short_seq_prob: float,
    masked_lm_prob: float, max_predictions_per_seq: int,
    vocab_words: List[str], rng: random.Random, do_whole_word_mask=False,
    max_ngram_size=None) -> List[tfm_data.TrainingInstance]:
  """Packs a document into `[CLS] tokens [SEP]` instances without NSP.

  The document's tokens are cut into pieces of `max_seq_length - 2` tokens
  (with probability `short_seq_prob` a piece gets a random shorter length, as
  in tfm), so only the last piece of a document is padded.

  Args:
    document: Tokenized sentences of one document.
    max_seq_length: Sequence length including [CLS] and [SEP].
    short_seq_prob: Probability of a shorter target length.
    masked_lm_prob: Fraction of tokens to predict.
    max_predictions_per_seq: Maximum predictions per sequence.
    vocab_words: Tokens to draw random replacements from.
    rng: The random generator.
    do_whole_word_mask: Mask all pieces of a word together.
    max_ngram_size: n-gram masking (see tfm's create_masked_lm_predictions).

  Returns:
    The document's `TrainingInstance`s, in document order.
  """
  max_num_tokens = max_seq_length - 2

  def target_length():
    if rng.random() < short_seq_prob:
      return rng.randint(2, max_num_tokens)
    return max_num_tokens

  instances = []

  def add(body):
    tokens = ['[CLS]'] + body + ['[SEP]']
    tokens, positions, labels = tfm_data.create_masked_lm_predictions(
        tokens, masked_lm_prob, max_predictions_per_seq, vocab_words, rng,
        do_whole_word_mask, max_ngram_size)
    instances.append(tfm_data.TrainingInstance(
        tokens=tokens, segment_ids=[0] * len(tokens),
        masked_lm_positions=positions, masked_lm_labels=labels,
        is_random_next=False))

  pending = []
  target = target_length()
  for sentence in document:
    pending.extend(sentence)
    while len(pending) >= target:
      add(pending[:target])
      del pending[:target]
      target = target_length()
  if pending:
    add(pending)
  return instances


def instance_to_example(instance: tfm_data.TrainingInstance, tokenizer,
                        max_seq_length: int, max_predictions_per_seq: int,
                        use_v2_feature_names: bool,
                        use_next_sentence_label: bool) -> tf.train.Example:
  """Converts an instance to a padded `tf.train.Example` (tfm's layout)."""
  input_ids = tokenizer.convert_tokens_to_ids(instance.tokens)
  if len(input_ids) > max_seq_length:
    raise AssertionError(
        f'instance of {len(input_ids)} tokens > max_seq_length '
        f'{max_seq_length}')
  padding = [0] * (max_seq_length - len(input_ids))
  input_mask = [1] * len(input_ids) + padding
  segment_ids = list(instance.segment_ids) + padding
  input_ids = input_ids + padding

  masked_lm_ids = tokenizer.convert_tokens_to_ids(instance.masked_lm_labels)
  num_predictions = len(masked_lm_ids)
  pred_padding = [0] * (max_predictions_per_seq - num_predictions)
  masked_lm_positions = list(instance.masked_lm_positions) + pred_padding
  masked_lm_ids = masked_lm_ids + pred_padding
  masked_lm_weights = [1.0] * num_predictions + [0.0] * len(pred_padding)

  features = collections.OrderedDict()
  ids_name, types_name = (('input_word_ids', 'input_type_ids')
                          if use_v2_feature_names else
                          ('input_ids', 'segment_ids'))
  features[ids_name] = tfm_data.create_int_feature(input_ids)
  features[types_name] = tfm_data.create_int_feature(segment_ids)
  features['input_mask'] = tfm_data.create_int_feature(input_mask)
  features['masked_lm_positions'] = tfm_data.create_int_feature(
      masked_lm_positions)
  features['masked_lm_ids'] = tfm_data.create_int_feature(masked_lm_ids)
  features['masked_lm_weights'] = tfm_data.create_float_feature(
      masked_lm_weights)
  if use_next_sentence_label:
    features['next_sentence_labels'] = tfm_data.create_int_feature(
        [1 if instance.is_random_next else 0])
  return tf.train.Example(features=tf.train.Features(feature=features))


class ProcessorText:
  """tfm's `get_processor_text_fn`, picklable for worker processes."""

  def __init__(self, is_sentence_piece: bool, do_lower_case: bool):
    self.is_sentence_piece = is_sentence_piece
    self.do_lower_case = do_lower_case

  def __call__(self, line) -> str:
    text = tokenization.convert_to_unicode(line)
    if self.is_sentence_piece:
      text = tokenization.preprocess_text(text, lower=self.do_lower_case)
    return text.strip()


def check_vocab(vocab: Dict[str, int], vocab_file: str) -> None:
  """Checks that a WordPiece vocabulary has the tokens the instances use."""
  missing = [t for t in SPECIAL_TOKENS if t not in vocab]
  if missing:
    raise checks.InputDataError(
        f'vocab_file {vocab_file!r} lacks {missing}; BERT pretraining data '
        f'needs {list(SPECIAL_TOKENS)} (python -m token_drop.data.build_vocab '
        'writes such a vocabulary).')
  if vocab.get('[PAD]') != 0:
    logging.warning('vocab_file %r: id 0 is not [PAD]; sequences are padded '
                    'with id 0 (masked out by input_mask).', vocab_file)


def _is_blank(line: bytes, processor_text_fn) -> bool:
  if not line.strip():
    return True
  # Only non-ASCII lines can be blank after unicode stripping; skip the cost.
  return not line.isascii() and not processor_text_fn(line)


def document_starts(input_files: Sequence[str], processor_text_fn,
                    progress: bool = False) -> List[array.array]:
  """Byte offsets of the documents' first lines, per input file.

  A document starts at a non-blank line that follows a blank line or starts
  a file. One pass of line reading, no tokenization; 8 bytes per document.

  Args:
    input_files: Text files.
    processor_text_fn: Decodes and strips a raw line.
    progress: Show a tqdm bar.

  Returns:
    One `array('q')` of offsets per file.
  """
  sizes = [parallel_io.file_size(f) for f in input_files]
  starts = []
  with tqdm.tqdm(total=sum(sizes), desc='scan documents', unit='B',
                 unit_scale=True, mininterval=1.0,
                 disable=not progress) as bar:
    done_before = 0
    for path, size in zip(input_files, sizes):
      offsets = array.array('q')
      position, previous_blank = 0, True
      with parallel_io.open_binary(path) as reader:
        for line in reader:
          blank = _is_blank(line, processor_text_fn)
          if previous_blank and not blank:
            offsets.append(position)
          previous_blank = blank
          position += len(line)
          if done_before + position - bar.n > (1 << 22):
            bar.update(done_before + position - bar.n)
      starts.append(offsets)
      done_before += size
      bar.update(done_before - bar.n)
  return starts


def shard_ranges(input_files: Sequence[str], starts: Sequence[array.array],
                 num_shards: int) -> List[List[parallel_io.ByteRange]]:
  """Splits the documents into `num_shards` contiguous, equal-count parts.

  Shard i holds documents [i * D // S, (i + 1) * D // S) in input order, so
  a shard's content (and so its file) depends on the input and the shard
  count only, never on how many workers write the shards.

  Args:
    input_files: Text files.
    starts: `document_starts` of the files.
    num_shards: Number of shards S.

  Returns:
    Per shard, the byte ranges of the files it reads (empty if the corpus
    has fewer documents than shards).
  """
  sizes = [parallel_io.file_size(f) for f in input_files]
  cumulative = [0]
  for offsets in starts:
    cumulative.append(cumulative[-1] + len(offsets))
  total = cumulative[-1]

  def locate(document):
    if document >= total:
      return len(input_files) - 1, sizes[-1]
    index = bisect.bisect_right(cumulative, document) - 1
    return index, starts[index][document - cumulative[index]]

  shards = []
  for shard in range(num_shards):
    first, end = shard * total // num_shards, (shard + 1) * total // num_shards
    if first == end:
      shards.append([])
      continue
    (file_a, offset_a), (file_b, offset_b) = locate(first), locate(end)
    ranges = []
    for index in range(file_a, file_b + 1):
      low = offset_a if index == file_a else 0
      high = offset_b if index == file_b else sizes[index]
      if high > low:
        ranges.append((input_files[index], low, high))
    shards.append(ranges)
  return shards


@dataclasses.dataclass
class _ShardSpec:
  """What every shard task needs (pickled once per worker)."""
  tokenizer: Any
  processor_text_fn: Callable[[bytes], str]
  settings: Dict[str, Any]


def _write_shard(spec: _ShardSpec, task, report) -> Dict[str, int]:
  """Writes one shard from its byte ranges; returns its counts.

  The shard is written to `PATH.incomplete` and renamed when complete, so a
  killed run never leaves a truncated file under the final name.
  """
  index, path, ranges = task
  s = spec.settings
  tokenizer = spec.tokenizer
  # Per-shard seeds: the same shard gets the same data whichever worker
  # writes it and whatever was written before.
  seed = f'{s["random_seed"]}/{index}'
  rng = random.Random(seed)
  # tfm's n-gram masking draws n-gram sizes from the global generator.
  random.seed(seed)
  vocab_words = list(tokenizer.vocab.keys())
  counts = collections.Counter()
  directory = os.path.dirname(path)
  if directory:
    tf.io.gfile.makedirs(directory)
  temp = path + '.incomplete'
  writer = tf.io.TFRecordWriter(temp,
                                options='GZIP' if s['gzip_compress'] else '')
  reader = parallel_io.RangeLines(ranges)
  reported = 0
  lines = map(spec.processor_text_fn, reader.lines(end_of_range_marker=b''))
  for chunk in chunk_documents(lines, s['documents_per_chunk'],
                               s['max_lines_per_chunk']):
    documents = []
    for chunk_lines in chunk:
      sentences = [t for t in map(tokenizer.tokenize, chunk_lines) if t]
      if sentences:
        documents.append(sentences)
    del chunk
    if documents:
      counts['chunks'] += 1
      counts['documents'] += len(documents)
      for example in _chunk_examples(documents, rng, vocab_words, tokenizer,
                                     s):
        if not counts['instances'] and index == 0:
          logging.info('First example: %s', example)
        # Sorted map keys: bytes independent of the process's hash seed.
        writer.write(example.SerializeToString(deterministic=True))
        counts['instances'] += 1
    report(reader.bytes_read - reported)
    reported = reader.bytes_read
  writer.close()
  report(reader.bytes_read - reported)
  tf.io.gfile.rename(temp, path, overwrite=True)
  return dict(counts)


def _chunk_examples(documents, rng, vocab_words, tokenizer,
                    s) -> Iterator[tf.train.Example]:
  """The examples of a chunk: `dupe_factor` shuffled masking rounds."""
  rng.shuffle(documents)
  for _ in range(s['dupe_factor']):
    instances = []
    for index, document in enumerate(documents):
      if s['use_next_sentence_label']:
        instances.extend(tfm_data.create_instances_from_document(
            documents, index, s['max_seq_length'], s['short_seq_prob'],
            s['masked_lm_prob'], s['max_predictions_per_seq'], vocab_words,
            rng, s['do_whole_word_mask'], s['max_ngram_size']))
      else:
        instances.extend(create_packed_instances_from_document(
            document, s['max_seq_length'], s['short_seq_prob'],
            s['masked_lm_prob'], s['max_predictions_per_seq'], vocab_words,
            rng, s['do_whole_word_mask'], s['max_ngram_size']))
    rng.shuffle(instances)
    for instance in instances:
      yield instance_to_example(
          instance, tokenizer, s['max_seq_length'],
          s['max_predictions_per_seq'], s['use_v2_feature_names'],
          s['use_next_sentence_label'])


def resume_state_path(output_files: Sequence[str]) -> str:
  """The hidden file recording the settings and the finished shards."""
  first = output_files[0]
  return os.path.join(os.path.dirname(first),
                      f'.{os.path.basename(first)}.progress.json')


def _fingerprint(input_files, tokenizer, settings) -> Dict[str, Any]:
  """Everything the output depends on; a resumed run must match it."""
  vocab = hashlib.sha256('\n'.join(tokenizer.vocab.keys()).encode('utf-8'))
  inputs = []
  for path in input_files:
    stat = tf.io.gfile.stat(path)
    inputs.append([path, stat.length, stat.mtime_nsec])
  return {'settings': settings, 'inputs': inputs,
          'vocab_sha256': vocab.hexdigest(),
          'tokenizer': type(tokenizer).__name__}


def _read_state(path: str) -> Dict[str, Any]:
  if not tf.io.gfile.exists(path):
    return {}
  try:
    with tf.io.gfile.GFile(path, 'r') as f:
      return json.load(f)
  except (ValueError, OSError):
    return {}


def _write_state(path: str, state: Dict[str, Any]) -> None:
  directory = os.path.dirname(path)
  if directory:
    tf.io.gfile.makedirs(directory)
  with tf.io.gfile.GFile(path + '.incomplete', 'w') as f:
    json.dump(state, f)
  tf.io.gfile.rename(path + '.incomplete', path, overwrite=True)


def create_pretraining_data(
    input_files: Sequence[str], output_files: Sequence[str], tokenizer,
    processor_text_fn: Callable[[bytes], str], *, max_seq_length=128,
    max_predictions_per_seq=20, masked_lm_prob=0.15, dupe_factor=10,
    short_seq_prob=0.1, random_seed=12345, do_whole_word_mask=False,
    max_ngram_size: Optional[int] = None, use_next_sentence_label=True,
    use_v2_feature_names=False, gzip_compress=False, documents_per_chunk=1000,
    max_lines_per_chunk=20000, num_workers=1, resume=True,
    progress=False) -> Dict[str, int]:
  """Streams text files into pretraining TFRecords, one task per shard.

  Shard i holds the i-th of `len(output_files)` contiguous, equal parts of
  the documents (in input order) and draws from a generator seeded with
  (random_seed, i): the files are the same for any `num_workers`.

  Args:
    input_files: Text files in the create_pretraining_data format.
    output_files: TFRecord files to write, one per shard.
    tokenizer: tfm `FullTokenizer` or `FullSentencePieceTokenizer`.
    processor_text_fn: Decodes and strips a raw line (`ProcessorText`, or
      tfm's `get_processor_text_fn` when num_workers is 1).
    max_seq_length: Sequence length of the examples.
    max_predictions_per_seq: Width of the masked_lm_* features.
    masked_lm_prob: Fraction of tokens to predict.
    dupe_factor: Masking rounds per document (each with new masks).
    short_seq_prob: Probability of a shorter sequence.
    random_seed: Seed; the same seed and inputs give identical files.
    do_whole_word_mask: Mask all pieces of a word together.
    max_ngram_size: Whole-word n-gram masking (needs do_whole_word_mask).
    use_next_sentence_label: NSP pairs (tfm) or packed documents.
    use_v2_feature_names: input_word_ids/input_type_ids instead of
      input_ids/segment_ids.
    gzip_compress: Write GZIP-compressed TFRecords.
    documents_per_chunk: Documents held in memory at once (per worker).
    max_lines_per_chunk: Lines held in memory at once (per worker).
    num_workers: Processes writing shards in parallel.
    resume: Skip shards finished by an earlier run with the same settings
      and inputs (recorded in `resume_state_path`).
    progress: Show tqdm progress bars (rate and ETA) on stderr.

  Returns:
    Counts: `documents`, `chunks`, `instances`, `shard_min`/`shard_max`
    instances per output file, `shards_written` and `shards_skipped`.
  """
  min_length = 5 if use_next_sentence_label else 3
  if max_seq_length < min_length:
    raise ValueError(f'--max_seq_length={max_seq_length} must be >= '
                     f'{min_length} with use_next_sentence_label='
                     f'{use_next_sentence_label}.')
  if max_predictions_per_seq < 1 or not 0 < masked_lm_prob <= 1:
    raise ValueError(
        f'--max_predictions_per_seq={max_predictions_per_seq} must be >= 1 '
        f'and --masked_lm_prob={masked_lm_prob} in (0, 1].')
  if dupe_factor < 1:
    raise ValueError(f'--dupe_factor={dupe_factor} must be >= 1.')
  if max_ngram_size and not do_whole_word_mask:
    raise ValueError('--max_ngram_size needs --do_whole_word_mask.')
  if num_workers < 1:
    raise ValueError(f'--num_workers={num_workers} must be >= 1.')
  if documents_per_chunk < 1 or max_lines_per_chunk < 1:
    raise ValueError(
        f'--documents_per_chunk={documents_per_chunk} and '
        f'--max_lines_per_chunk={max_lines_per_chunk} must be >= 1.')
  if num_workers > 1:
    try:
      pickle.dumps((tokenizer, processor_text_fn))
    except Exception as e:  # pylint: disable=broad-except
      raise ValueError(
          'num_workers > 1 needs a picklable tokenizer and processor_text_fn '
          f'(use create_pretraining_data.ProcessorText): {e}') from e

  settings = dict(
      max_seq_length=max_seq_length,
      max_predictions_per_seq=max_predictions_per_seq,
      masked_lm_prob=masked_lm_prob, dupe_factor=dupe_factor,
      short_seq_prob=short_seq_prob, random_seed=random_seed,
      do_whole_word_mask=do_whole_word_mask, max_ngram_size=max_ngram_size,
      use_next_sentence_label=use_next_sentence_label,
      use_v2_feature_names=use_v2_feature_names, gzip_compress=gzip_compress,
      documents_per_chunk=documents_per_chunk,
      max_lines_per_chunk=max_lines_per_chunk,
      output_files=list(output_files))
  starts = document_starts(input_files, processor_text_fn, progress)
  num_documents = sum(len(s) for s in starts)
  counts = collections.Counter()
  if not num_documents:
    return dict(counts, instances=0)
  if num_documents < len(output_files):
    logging.warning('%d documents for %d shards: some shards stay empty.',
                    num_documents, len(output_files))
  ranges = shard_ranges(input_files, starts, len(output_files))
  del starts

  state_path = resume_state_path(output_files)
  fingerprint = _fingerprint(input_files, tokenizer, settings)
  state = _read_state(state_path) if resume else {}
  if state.get('fingerprint') != fingerprint:
    state = {'fingerprint': fingerprint, 'done': {}}
    _write_state(state_path, state)
  done = {path: c for path, c in state['done'].items()
          if tf.io.gfile.exists(path)}
  shard_counts = dict(done)
  tasks = [(i, path, ranges[i]) for i, path in enumerate(output_files)
           if path not in done]
  if done:
    logging.info('Resuming: %d of %d shards are finished, skipped.',
                 len(done), len(output_files))
  spec = _ShardSpec(tokenizer, processor_text_fn, settings)
  total_bytes = sum(b - a for _, _, r in tasks for _, a, b in r)
  for index, result in parallel_io.run_tasks(
      functools.partial(_write_shard, spec), tasks, num_workers, total_bytes,
      'write shards', progress):
    path = tasks[index][1]
    shard_counts[path] = result
    state['done'][path] = result
    _write_state(state_path, state)
  for result in shard_counts.values():
    counts.update(result)
  per_shard = [shard_counts[p].get('instances', 0) for p in output_files]
  counts['shard_min'] = min(per_shard)
  counts['shard_max'] = max(per_shard)
  counts['shards_written'] = len(tasks)
  counts['shards_skipped'] = len(done)
  return dict(counts)


def check_flags(flags_obj) -> None:
  """Raises `errors.UserError` naming a flag whose value cannot work.

  Runs before the corpus is read, so that a bad value fails in a second
  instead of after tokenizing the corpus (or never: tfm accepts e.g. more
  predictions than tokens).

  Args:
    flags_obj: The parsed flags (`flags.FLAGS`).
  """
  f = flags_obj

  def fail(name, expected):
    raise errors.UserError(
        f'--{name}={getattr(f, name)!r}: expected {expected}.')

  if f.max_seq_length < 3:
    fail('max_seq_length', 'at least 3 ([CLS], a token and [SEP])')
  if not 1 <= f.max_predictions_per_seq <= f.max_seq_length - 2:
    fail('max_predictions_per_seq', 'between 1 and --max_seq_length - 2 = '
         f'{f.max_seq_length - 2} (the tokens besides [CLS] and [SEP])')
  if not 0.0 < f.masked_lm_prob <= 1.0:
    fail('masked_lm_prob', 'a probability in (0, 1]')
  if not 0.0 <= f.short_seq_prob <= 1.0:
    fail('short_seq_prob', 'a probability in [0, 1]')
  for name in ('dupe_factor', 'max_ngram_size', 'documents_per_chunk',
               'max_lines_per_chunk'):
    # max_ngram_size is None unless given (tfm's default).
    if getattr(f, name) is not None and getattr(f, name) < 1:
      fail(name, 'an integer >= 1')
  if f.tokenization == 'WordPiece' and not f.vocab_file:
    fail('vocab_file', 'a WordPiece vocabulary file (--tokenization='
         'WordPiece)')
  if f.tokenization == 'SentencePiece' and not f.sp_model_file:
    fail('sp_model_file', 'a SentencePiece model (--tokenization='
         'SentencePiece)')
  shard_paths(f.output_file, f.num_output_shards)


def main(_):
  """Writes the pretraining data the flags describe."""
  check_flags(FLAGS)
  input_files = checks.expand_input_path(FLAGS.input_file)
  checks.check_text_files(input_files, '--input_file')
  output_files = shard_paths(FLAGS.output_file, FLAGS.num_output_shards)
  if FLAGS.tokenization == 'WordPiece':
    check_vocab(checks.read_vocab(FLAGS.vocab_file), FLAGS.vocab_file)
    tokenizer = tokenization.FullTokenizer(
        vocab_file=FLAGS.vocab_file, do_lower_case=FLAGS.do_lower_case)
  else:
    tokenizer = tokenization.FullSentencePieceTokenizer(FLAGS.sp_model_file)
  processor_text_fn = ProcessorText(
      FLAGS.tokenization == 'SentencePiece', FLAGS.do_lower_case)
  logging.info('Reading %d files: %s', len(input_files), input_files[:10])
  counts = create_pretraining_data(
      input_files, output_files, tokenizer, processor_text_fn,
      max_seq_length=FLAGS.max_seq_length,
      max_predictions_per_seq=FLAGS.max_predictions_per_seq,
      masked_lm_prob=FLAGS.masked_lm_prob, dupe_factor=FLAGS.dupe_factor,
      short_seq_prob=FLAGS.short_seq_prob, random_seed=FLAGS.random_seed,
      do_whole_word_mask=FLAGS.do_whole_word_mask,
      max_ngram_size=FLAGS.max_ngram_size,
      use_next_sentence_label=FLAGS.use_next_sentence_label,
      use_v2_feature_names=FLAGS.use_v2_feature_names,
      gzip_compress=FLAGS.gzip_compress,
      documents_per_chunk=FLAGS.documents_per_chunk,
      max_lines_per_chunk=FLAGS.max_lines_per_chunk,
      num_workers=FLAGS.num_workers, resume=FLAGS.resume,
      progress=FLAGS.progress)
  if not counts.get('instances'):
    raise checks.InputDataError(
        f'--input_file={FLAGS.input_file!r}: no text found in {input_files}.')
  print(f'Wrote {counts["instances"]} instances from {counts["documents"]} '
        f'documents ({counts["chunks"]} chunks) to {len(output_files)} '
        f'files ({counts["shard_min"]}-{counts["shard_max"]} per file): '
        f'{output_files[0]}{" ..." if len(output_files) > 1 else ""}'
        f'{resumed_note(counts)}')


def resumed_note(counts: Dict[str, int]) -> str:
  """Says how many shards an earlier run had finished, if any."""
  if not counts.get('shards_skipped'):
    return ''
  return (f'; {counts["shards_skipped"]} shards finished by an earlier run '
          f'were kept, {counts["shards_written"]} written now')


if __name__ == '__main__':
  flags.mark_flag_as_required('input_file')
  flags.mark_flag_as_required('output_file')
  errors.run_main(main)
