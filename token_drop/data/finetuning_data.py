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

"""Fine-tuning examples from TSV/CSV and CoNLL files, as tfm TFRecords.

Two input kinds, each written in the format tfm's loaders read:

* Sentence (pair) classification from a delimited file with a header: text
  column(s) and a label column chosen by name (or 0-based index). Written with
  `classifier_data_lib.file_based_convert_examples_to_features` (features
  input_ids, input_mask, segment_ids, label_ids), read by tfm's
  `SentencePredictionDataLoader` (`bert/sentence_prediction`).
* Token classification from CoNLL-style files: one token per line with its tag
  in the last whitespace-separated column, a blank line between sentences
  (`-DOCSTART-` lines are skipped). Written with
  `tagging_data_lib.write_example_to_file`: the first sub-word of each word
  carries the word's label and the other sub-words -1 (ignored by the loss and
  the metrics); sentences longer than the sequence are split. Read by tfm's
  `TaggingDataLoader` (`bert/tagging`).

`window_examples` augments single-sentence training data for distillation:
a text longer than the sequence also yields word-aligned windows further in,
so the student meets the teacher on more distinct inputs than the few
thousand truncated texts (n-gram sampling in Tang et al. 2019, "Distilling
Task-Specific Knowledge from BERT into Simple Neural Networks"; the SparseBERT
reference trains on TinyBERT's augmented data).

Bad input raises `checks.InputDataError` naming the file, line and value.
"""

import csv
import hashlib
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

from official.nlp.data import classifier_data_lib
from official.nlp.data import tagging_data_lib
from official.nlp.tools import tokenization
from token_drop.data import checks

_DELIMITERS = {'.tsv': '\t', '.txt': '\t', '.csv': ','}
# Reviews can be longer than csv's default field limit.
csv.field_size_limit(1 << 24)
# Bump when the written records change, to invalidate cached TFRecords.
FORMAT_VERSION = 1


def delimiter_for(path: str, delimiter: str = '') -> str:
  """The field delimiter: `delimiter` if set, else from the file extension."""
  if delimiter:
    return {'tab': '\t', '\\t': '\t', 'comma': ','}.get(delimiter, delimiter)
  ext = os.path.splitext(path)[1].lower()
  if ext not in _DELIMITERS:
    raise checks.InputDataError(
        f'{path!r}: cannot tell the delimiter from the extension {ext!r}; '
        'use .tsv or .csv, or set the delimiter.')
  return _DELIMITERS[ext]


def _column_index(header: Sequence[str], column: str, path: str) -> int:
  if column in header:
    return list(header).index(column)
  if column.isdigit() and int(column) < len(header):
    return int(column)
  raise checks.InputDataError(
      f'{path!r}: no column {column!r}; the header has {list(header)} (a '
      '0-based column index also works).')


def read_classification_file(path: str, text_columns: Sequence[str],
                             label_column: str, delimiter: str = ''
                            ) -> List[Tuple[List[str], str, int]]:
  """Reads (texts, label string, line number) rows of a delimited file.

  Args:
    path: TSV/CSV file whose first line is a header.
    text_columns: One column (single sentence) or two (sentence pair).
    label_column: The label column.
    delimiter: Field delimiter; '' picks it from the extension.

  Returns:
    One tuple per data row.

  Raises:
    InputDataError: a missing file/column, or a short row.
  """
  if not tf.io.gfile.exists(path):
    raise checks.InputDataError(f'fine-tuning data {path!r} does not exist.')
  if not 1 <= len(text_columns) <= 2:
    raise checks.InputDataError(
        f'{path!r}: need one or two text columns, got {list(text_columns)}.')
  sep = delimiter_for(path, delimiter)
  rows = []
  with tf.io.gfile.GFile(path) as f:
    # Tabs separate fields in TSV; quotes are ordinary characters there.
    reader = csv.reader(f, delimiter=sep,
                        quoting=csv.QUOTE_NONE if sep == '\t' else
                        csv.QUOTE_MINIMAL)
    header = next(reader, None)
    if not header:
      raise checks.InputDataError(f'{path!r} is empty; a header is expected.')
    text_idx = [_column_index(header, c, path) for c in text_columns]
    label_idx = _column_index(header, label_column, path)
    needed = max(text_idx + [label_idx])
    for line, row in enumerate(reader, start=2):
      if not row:
        continue
      if len(row) <= needed:
        raise checks.InputDataError(
            f'{path}:{line}: {len(row)} field(s), expected at least '
            f'{needed + 1} (delimiter {sep!r}).')
      rows.append(([row[i] for i in text_idx], row[label_idx].strip(), line))
  if not rows:
    raise checks.InputDataError(f'{path!r} has a header but no rows.')
  return rows


def classification_examples(path: str, text_columns: Sequence[str],
                            label_column: str,
                            label_list: Optional[Sequence[str]] = None,
                            delimiter: str = ''):
  """`classifier_data_lib.InputExample`s and the label list of a file.

  Args:
    path: See `read_classification_file`.
    text_columns: See `read_classification_file`.
    label_column: See `read_classification_file`.
    label_list: Label strings in id order. When None, labels must be integer
      ids 0..n-1 and are used as they are.
    delimiter: See `read_classification_file`.

  Returns:
    (examples, label_list).
  """
  rows = read_classification_file(path, text_columns, label_column, delimiter)
  if label_list is None:
    try:
      ids = {int(label) for _, label, _ in rows}
    except ValueError:
      bad = next(r for r in rows if not r[1].lstrip('-').isdigit())
      raise checks.InputDataError(
          f'{path}:{bad[2]}: label {bad[1]!r} is not an integer id; set the '
          'label list to map label strings to ids.') from None
    if min(ids) < 0:
      raise checks.InputDataError(f'{path!r}: negative label id {min(ids)}.')
    label_list = [str(i) for i in range(max(ids) + 1)]
  label_list = [str(label) for label in label_list]
  known = set(label_list)
  examples = []
  for i, (texts, label, line) in enumerate(rows):
    if label not in known:
      raise checks.InputDataError(
          f'{path}:{line}: label {label!r} is not in the label list '
          f'{label_list}.')
    examples.append(classifier_data_lib.InputExample(
        guid=f'{os.path.basename(path)}-{i}', text_a=texts[0],
        text_b=texts[1] if len(texts) > 1 else None, label=label,
        example_id=i))
  return examples, label_list


def read_conll(path: str, label_list: Optional[Sequence[str]] = None):
  """`tagging_data_lib.InputExample`s of a CoNLL-style file.

  Args:
    path: Token-per-line file; the tag is the last column.
    label_list: Tags in id order; when None, 'O' first then sorted.

  Returns:
    (examples, label_list).

  Raises:
    InputDataError: a missing file, a line without a tag, an unknown tag.
  """
  if not tf.io.gfile.exists(path):
    raise checks.InputDataError(f'fine-tuning data {path!r} does not exist.')
  sentences, words, tags = [], [], []
  with tf.io.gfile.GFile(path) as f:
    for line_no, line in enumerate(f, start=1):
      fields = line.split()
      if fields and fields[0] == '-DOCSTART-':
        continue
      if not fields:
        if words:
          sentences.append((words, tags))
          words, tags = [], []
        continue
      if len(fields) < 2:
        raise checks.InputDataError(
            f'{path}:{line_no}: {line.strip()!r} has no tag; expected '
            '"token<TAB>tag" (the tag is the last column).')
      words.append(fields[0])
      tags.append((fields[-1], line_no))
  if words:
    sentences.append((words, tags))
  if not sentences:
    raise checks.InputDataError(f'{path!r} holds no tokens.')
  if label_list is None:
    found = {tag for _, ts in sentences for tag, _ in ts}
    label_list = (['O'] if 'O' in found else []) + sorted(found - {'O'})
  ids = {label: i for i, label in enumerate(label_list)}
  examples = []
  for sentence_id, (ws, ts) in enumerate(sentences):
    example = tagging_data_lib.InputExample(sentence_id=sentence_id)
    for word, (tag, line_no) in zip(ws, ts):
      if tag not in ids:
        raise checks.InputDataError(
            f'{path}:{line_no}: tag {tag!r} is not in the label list '
            f'{list(label_list)}.')
      example.add_word_and_label_id(word, ids[tag])
    examples.append(example)
  return examples, list(label_list)


def tokenizer(vocab_file: str, do_lower_case: bool):
  """A FullTokenizer on `vocab_file`, after checking that file."""
  checks.read_vocab(vocab_file)  # Names a missing/empty vocab file.
  return tokenization.FullTokenizer(vocab_file, do_lower_case=do_lower_case)


def window_examples(examples, vocab_file: str, do_lower_case: bool,
                    max_seq_length: int, stride: int):
  """The examples plus word-aligned windows of the longer ones.

  A text of more than `max_seq_length - 2` word pieces (what fits between
  [CLS] and [SEP]) keeps its example, whose record holds the text's start,
  and adds one example per further window: window k starts at the first word
  at least `stride` word pieces after the start of window k-1, and holds the
  words that fit; the last window reaches the end of the text. Each window
  carries the text's label.

  Args:
    examples: Single-sentence `classifier_data_lib.InputExample`s.
    vocab_file: WordPiece vocabulary (for the word-piece counts).
    do_lower_case: Lower-case before WordPiece.
    max_seq_length: The records' sequence length.
    stride: Word pieces between window starts, 1..max_seq_length - 2.

  Returns:
    A list of examples: each input example followed by its windows.

  Raises:
    InputDataError: pair examples or a stride outside 1..max_seq_length - 2.
  """
  room = max_seq_length - 2
  if not 1 <= stride <= room:
    raise checks.InputDataError(
        f'window stride {stride} must be between 1 and {room} '
        f'(seq_length {max_seq_length} minus [CLS] and [SEP]).')
  tok = tokenizer(vocab_file, do_lower_case)
  out = []
  for example in examples:
    out.append(example)
    if example.text_b is not None:
      raise checks.InputDataError(
          f'example {example.guid}: windows are for single-sentence data; '
          'this one is a sentence pair.')
    words = example.text_a.split()
    ends = [0]  # ends[i]: word pieces in words[:i].
    for word in words:
      ends.append(ends[-1] + len(tok.tokenize(word)))
    start, k = 0, 0
    while ends[-1] - ends[start] > room:
      nxt = start + 1
      while nxt < len(words) and ends[nxt] - ends[start] < stride:
        nxt += 1
      if nxt >= len(words):
        break
      start, k = nxt, k + 1
      stop = start + 1
      while stop < len(words) and ends[stop + 1] - ends[start] <= room:
        stop += 1
      out.append(classifier_data_lib.InputExample(
          guid=f'{example.guid}-w{k}', text_a=' '.join(words[start:stop]),
          label=example.label, example_id=example.example_id))
  return out


def write_classification(examples, label_list, vocab_file: str,
                         do_lower_case: bool, max_seq_length: int,
                         output_file: str) -> int:
  """Writes sentence prediction TFRecords; returns the number of records."""
  classifier_data_lib.file_based_convert_examples_to_features(
      examples, label_list, max_seq_length,
      tokenizer(vocab_file, do_lower_case), output_file)
  return len(examples)


def write_tagging(examples, vocab_file: str, do_lower_case: bool,
                  max_seq_length: int, output_file: str) -> int:
  """Writes tagging TFRecords; returns the number of records."""
  return tagging_data_lib.write_example_to_file(
      examples, tokenizer(vocab_file, do_lower_case), max_seq_length,
      output_file)


def cache_key(*paths: str, **settings) -> str:
  """A digest of input files (path, size, mtime) and settings."""
  parts: Dict[str, object] = dict(settings, version=FORMAT_VERSION)
  for i, path in enumerate(paths):
    stat = os.stat(path)
    parts[f'file{i}'] = [os.path.abspath(path), stat.st_size, stat.st_mtime_ns]
  text = json.dumps(parts, sort_keys=True, default=str)
  return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def write_atomically(output_file: str, write_fn) -> int:
  """Runs write_fn(tmp_path) then renames, so readers see no partial file."""
  tmp = f'{output_file}.tmp-{os.getpid()}'
  count = write_fn(tmp)
  os.replace(tmp, output_file)
  return count
