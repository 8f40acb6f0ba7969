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

"""Tests token_drop.data.create_pretraining_data on a slice of the corpus."""

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from official.nlp.data import create_pretraining_data as tfm_data
from official.nlp.data import pretrain_dataloader as tfm_loader
from official.nlp.tools import tokenization
from token_drop.data import checks
from token_drop.data import create_pretraining_data as cpd
from token_drop.data import pretrain_dataloader

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VOCAB = os.path.join(REPO, 'data', 'vocab', 'bert_en_uncased_vocab.txt')
CORPUS = os.path.join(REPO, 'data', 'corpus', 'demo_train.txt')
CLS, SEP, MASK = 101, 102, 103
# Speeches, Bible chapters and Shakespeare acts; the last one keeps 1 line.
DOC_INDICES = (0, 5, 30, 40, 60, 80, 100, 110, 120, 125, 128, 131)


def _read_documents(path):
  documents = [[]]
  with open(path, encoding='utf-8') as f:
    for line in f:
      if line.strip():
        documents[-1].append(line.strip())
      elif documents[-1]:
        documents.append([])
  return [d for d in documents if d]


@pytest.fixture(scope='module')
def tokenizer():
  return tokenization.FullTokenizer(VOCAB, do_lower_case=True)


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
  """12 documents of at most 6 sentences; returns (path, documents)."""
  documents = _read_documents(CORPUS)
  documents = [documents[i][:6] for i in DOC_INDICES]
  documents[-1] = documents[-1][:1]
  path = tmp_path_factory.mktemp('corpus') / 'slice.txt'
  path.write_text('\n\n'.join('\n'.join(d) for d in documents) + '\n',
                  encoding='utf-8')
  return str(path), documents


def _run(tokenizer, corpus_path, output_files, **kwargs):
  processor = tfm_data.get_processor_text_fn(False, True)
  kwargs.setdefault('max_seq_length', 64)
  kwargs.setdefault('max_predictions_per_seq', 10)
  kwargs.setdefault('dupe_factor', 2)
  return cpd.create_pretraining_data([corpus_path], output_files, tokenizer,
                                     processor, **kwargs)


def _parse(files):
  records = []
  for path in files:
    for record in tf.data.TFRecordDataset(path):
      example = tf.train.Example.FromString(record.numpy())
      records.append({
          name: np.array(feature.int64_list.value or feature.float_list.value)
          for name, feature in example.features.feature.items()})
  return records


def _doc_strings(tokenizer, documents):
  """Each document's token ids as ' 1 2 3 ' for substring search."""
  out = []
  for document in documents:
    ids = tokenizer.convert_tokens_to_ids(
        [t for line in document for t in tokenizer.tokenize(line)])
    out.append(' ' + ' '.join(map(str, ids)) + ' ')
  return out


def _containing(doc_strings, ids):
  needle = ' ' + ' '.join(map(str, ids)) + ' '
  return {i for i, s in enumerate(doc_strings) if needle in s}


def _unmasked(record, ids_name):
  """Input ids with every predicted position restored to its label."""
  ids = record[ids_name].copy()
  weights = record['masked_lm_weights']
  for pos, label, w in zip(record['masked_lm_positions'],
                           record['masked_lm_ids'], weights):
    if w:
      ids[pos] = label
  return ids


def _check_common(record, ids_name, types_name, seq, preds):
  ids, mask = record[ids_name], record['input_mask']
  length = int(mask.sum())
  assert ids.shape == (seq,) and record[types_name].shape == (seq,)
  np.testing.assert_array_equal(mask[:length], 1)
  np.testing.assert_array_equal(ids[length:], 0)
  assert ids[0] == CLS and ids[length - 1] == SEP
  weights = record['masked_lm_weights']
  assert weights.shape == (preds,)
  num = int(weights.sum())
  np.testing.assert_array_equal(weights[:num], 1.0)
  np.testing.assert_array_equal(weights[num:], 0.0)
  positions = record['masked_lm_positions'][:num]
  assert num >= 1 and np.all(np.diff(positions) > 0)
  assert np.all(positions < length)
  np.testing.assert_array_equal(record['masked_lm_positions'][num:], 0)
  np.testing.assert_array_equal(record['masked_lm_ids'][num:], 0)
  restored = _unmasked(record, ids_name)
  assert not np.isin(restored[positions], (CLS, SEP, 0)).any()
  return length, positions


def test_nsp_v1_shards_match_documents(tokenizer, corpus, tmp_path):
  path, documents = corpus
  files = cpd.shard_paths(str(tmp_path / 'nsp.tfrecord'), 3)
  counts = _run(tokenizer, path, files, dupe_factor=3,
                use_next_sentence_label=True)
  assert counts['documents'] == len(documents)
  # Shards hold 4 documents each (contiguous parts of equal document count).
  assert counts['shard_min'] > 0
  assert counts['shards_written'] == 3 and counts['shards_skipped'] == 0
  records = _parse(files)
  assert len(records) == counts['instances'] == sum(
      len(_parse([f])) for f in files)
  doc_strings = _doc_strings(tokenizer, documents)
  labels = []
  actions = {'mask': 0, 'same': 0, 'other': 0}
  for record in records:
    assert 'input_ids' in record and 'input_word_ids' not in record
    length, positions = _check_common(record, 'input_ids', 'segment_ids',
                                      64, 10)
    ids, types = record['input_ids'][:length], record['segment_ids'][:length]
    seps = np.flatnonzero(ids == SEP)
    assert len(seps) == 2
    np.testing.assert_array_equal(types[:seps[0] + 1], 0)
    np.testing.assert_array_equal(types[seps[0] + 1:], 1)
    restored = _unmasked(record, 'input_ids')
    docs_a = _containing(doc_strings, restored[1:seps[0]])
    docs_b = _containing(doc_strings, restored[seps[0] + 1:seps[1]])
    assert docs_a and docs_b
    label = int(record['next_sentence_labels'][0])
    labels.append(label)
    if label == 0:
      assert docs_a & docs_b, 'actual next sentence from another document'
    for pos, original in zip(positions, record['masked_lm_ids']):
      if ids[pos] == MASK:
        actions['mask'] += 1
      elif ids[pos] == original:
        actions['same'] += 1
      else:
        actions['other'] += 1
  assert 0.2 < np.mean(labels) < 0.8
  total = sum(actions.values())
  assert total > 300
  assert abs(actions['mask'] / total - 0.8) < 0.08
  assert abs(actions['same'] / total - 0.1) < 0.06
  assert abs(actions['other'] / total - 0.1) < 0.06


def test_packed_v2_whole_word_fills_sequences(tokenizer, corpus, tmp_path):
  path, documents = corpus
  files = [str(tmp_path / 'a.tfrecord'), str(tmp_path / 'b.tfrecord')]
  counts = _run(tokenizer, path, files, dupe_factor=2, short_seq_prob=0.0,
                use_next_sentence_label=False, use_v2_feature_names=True,
                do_whole_word_mask=True)
  records = _parse(files)
  assert len(records) == counts['instances']
  doc_strings = _doc_strings(tokenizer, documents)
  vocab_words = list(tokenizer.vocab.keys())
  partial = 0
  continuation_masked = 0
  for record in records:
    assert 'next_sentence_labels' not in record and 'input_ids' not in record
    length, positions = _check_common(record, 'input_word_ids',
                                      'input_type_ids', 64, 10)
    np.testing.assert_array_equal(record['input_type_ids'], 0)
    partial += length < 64
    restored = _unmasked(record, 'input_word_ids')
    assert _containing(doc_strings, restored[1:length - 1])
    # Whole-word masking: a word's pieces are predicted all or none.
    masked = set(positions.tolist())
    for pos in range(2, length - 1):
      if vocab_words[restored[pos]].startswith('##'):
        continuation_masked += pos in masked
        assert (pos in masked) == (pos - 1 in masked), (
            restored[pos - 3:pos + 2])
  # Only a document's last piece is shorter than the sequence.
  assert partial <= len(documents) * 2
  assert len(records) - partial >= 0.6 * len(records)
  assert continuation_masked > 0


def test_token_masking_splits_words(tokenizer, corpus, tmp_path):
  """Without whole-word masking, some word is predicted only in part."""
  path, _ = corpus
  files = [str(tmp_path / 'tok.tfrecord')]
  _run(tokenizer, path, files, dupe_factor=3, use_next_sentence_label=False,
       use_v2_feature_names=True)
  vocab_words = list(tokenizer.vocab.keys())
  split = 0
  for record in _parse(files):
    restored = _unmasked(record, 'input_word_ids')
    num = int(record['masked_lm_weights'].sum())
    masked = set(record['masked_lm_positions'][:num].tolist())
    for pos in range(2, int(record['input_mask'].sum()) - 1):
      if vocab_words[restored[pos]].startswith('##'):
        split += (pos in masked) != (pos - 1 in masked)
  assert split > 0


def _file_bytes(files):
  return [open(f, 'rb').read() for f in files]


def test_same_seed_same_files(tokenizer, corpus, tmp_path):
  path, _ = corpus
  outputs = []
  for name, seed in (('a', 7), ('b', 7), ('c', 8)):
    files = cpd.shard_paths(str(tmp_path / name), 2)
    _run(tokenizer, path, files, random_seed=seed, dupe_factor=1,
         documents_per_chunk=4, do_whole_word_mask=True)
    outputs.append(_file_bytes(files))
  assert outputs[0] == outputs[1]
  assert outputs[0] != outputs[2]


def test_random_next_sentence_comes_from_current_chunk(tokenizer, corpus,
                                                       tmp_path):
  path, documents = corpus
  files = [str(tmp_path / 'chunked.tfrecord')]
  counts = _run(tokenizer, path, files, dupe_factor=2, documents_per_chunk=3,
                use_next_sentence_label=True)
  assert counts['chunks'] == 4
  doc_strings = _doc_strings(tokenizer, documents)
  random_next = 0
  for record in _parse(files):
    length = int(record['input_mask'].sum())
    restored = _unmasked(record, 'input_ids')[:length]
    seps = np.flatnonzero(restored == SEP)
    chunks_a = {i // 3 for i in _containing(doc_strings, restored[1:seps[0]])}
    chunks_b = {i // 3 for i in _containing(doc_strings,
                                            restored[seps[0] + 1:seps[1]])}
    assert chunks_a & chunks_b
    random_next += int(record['next_sentence_labels'][0])
  assert random_next > 0


def _data_config(files, **kwargs):
  return pretrain_dataloader.PretrainDataConfig(
      input_path=','.join(files), global_batch_size=4, is_training=False,
      **kwargs)


@pytest.mark.parametrize('nsp,v2', [(True, False), (False, True)])
def test_loaders_read_output(tokenizer, corpus, tmp_path, nsp, v2):
  path, _ = corpus
  files = cpd.shard_paths(str(tmp_path / 'out'), 2)
  _run(tokenizer, path, files, max_seq_length=32, max_predictions_per_seq=5,
       dupe_factor=1, use_next_sentence_label=nsp, use_v2_feature_names=v2)
  params = _data_config(files, seq_length=32, max_predictions_per_seq=5,
                        use_next_sentence_label=nsp, use_v2_feature_names=v2)
  ours = next(iter(pretrain_dataloader.PretrainDataLoader(params).load()))
  theirs = next(iter(tfm_loader.BertPretrainDataLoader(params).load()))
  expected = {'input_word_ids', 'input_type_ids', 'input_mask',
              'masked_lm_positions', 'masked_lm_ids', 'masked_lm_weights'}
  if nsp:
    expected.add('next_sentence_labels')
  for batch in (ours, theirs):
    assert set(batch) == expected
    assert batch['input_word_ids'].shape == (4, 32)
    assert batch['masked_lm_ids'].shape == (4, 5)
  np.testing.assert_array_equal(ours['input_word_ids'],
                                theirs['input_word_ids'])
  # A config that expects the other layout fails before training.
  wrong = _data_config(files, seq_length=32, max_predictions_per_seq=5,
                       use_next_sentence_label=True,
                       use_v2_feature_names=not v2)
  with pytest.raises(checks.InputDataError, match='no feature'):
    pretrain_dataloader.PretrainDataLoader(wrong)


def test_chunk_documents_bounds_memory():
  def documents_stream(consumed):
    for i in itertools.count():
      for j in range(1 + i % 4):
        consumed.append(1)
        yield f'doc{i} line{j}'
      consumed.append(1)
      yield ''

  consumed = []
  chunks = cpd.chunk_documents(documents_stream(consumed),
                               documents_per_chunk=5, max_lines_per_chunk=100)
  first = next(chunks)
  assert len(first) == 5
  # Lazy: only the first chunk's lines (and separators) were read.
  assert len(consumed) == sum(len(d) + 1 for d in first)
  for chunk in itertools.islice(chunks, 20):
    assert len(chunk) == 5
  assert len(consumed) < 21 * 5 * 5 + 5


def test_chunk_documents_splits_long_documents():
  lines = ['a1', 'a2', '', 'b1', 'b2', 'b3', 'b4', 'b5', '', '', 'c1']
  chunks = list(cpd.chunk_documents(lines, documents_per_chunk=2,
                                    max_lines_per_chunk=3))
  assert chunks == [[['a1', 'a2'], ['b1']], [['b2', 'b3', 'b4']],
                    [['b5'], ['c1']]]
  assert all(sum(map(len, c)) <= 3 and len(c) <= 2 for c in chunks)
  with pytest.raises(ValueError, match='documents_per_chunk'):
    list(cpd.chunk_documents(lines, 0, 3))


def test_shard_paths():
  assert cpd.shard_paths('/x/t.tfrecord', 1) == ['/x/t.tfrecord']
  assert cpd.shard_paths('/x/t', 3) == [
      '/x/t-00000-of-00003', '/x/t-00001-of-00003', '/x/t-00002-of-00003']
  assert cpd.shard_paths('a,b', 2) == ['a', 'b']
  with pytest.raises(ValueError, match='num_output_shards=3'):
    cpd.shard_paths('a,b', 3)
  with pytest.raises(ValueError, match='repeats'):
    cpd.shard_paths('a,a', 1)


def test_check_vocab_names_missing_tokens(tmp_path):
  with pytest.raises(checks.InputDataError, match=r"\[MASK\]"):
    cpd.check_vocab({'[PAD]': 0, '[UNK]': 1, '[CLS]': 2, '[SEP]': 3},
                    'v.txt')


@pytest.mark.slow
def test_cli_vocab_then_tfrecords(corpus, tmp_path):
  """A user without a vocabulary: build_vocab, TFRecords, then train data."""
  path, _ = corpus
  vocab = tmp_path / 'vocab' / 'vocab.txt'
  result = subprocess.run(
      [sys.executable, '-m', 'token_drop.data.build_vocab',
       f'--input_file={path}', f'--output_file={vocab}', '--vocab_size=256'],
      cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert '[PAD]=0' in result.stdout
  assert len(checks.read_vocab(str(vocab))) == 256
  out = tmp_path / 'cli' / 'train.tfrecord'
  result = subprocess.run(
      [sys.executable, '-m', 'token_drop.data.create_pretraining_data',
       f'--input_file={path}', f'--vocab_file={vocab}',
       f'--output_file={out}', '--num_output_shards=2',
       '--max_seq_length=32', '--max_predictions_per_seq=5',
       '--dupe_factor=1', '--nouse_next_sentence_label',
       '--use_v2_feature_names', '--do_whole_word_mask'],
      cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'Wrote' in result.stdout
  files = [f'{out}-00000-of-00002', f'{out}-00001-of-00002']
  records = _parse(files)
  assert len(records) > 20
  for record in records:
    assert record['input_word_ids'].shape == (32,)
    # [CLS] and [SEP] have ids 2 and 3 in a build_vocab vocabulary.
    assert record['input_word_ids'][0] == 2
    assert record['input_word_ids'][int(record['input_mask'].sum()) - 1] == 3
  params = _data_config(files, seq_length=32, max_predictions_per_seq=5,
                        use_next_sentence_label=False,
                        use_v2_feature_names=True, vocab_file=str(vocab))
  batch = next(iter(pretrain_dataloader.PretrainDataLoader(params).load()))
  assert batch['input_word_ids'].shape == (4, 32)


def _run_sharded(tokenizer, corpus_path, output, **kwargs):
  """Packed MLM data in 4 shards, with the picklable text processor."""
  files = cpd.shard_paths(str(output), 4)
  counts = cpd.create_pretraining_data(
      [corpus_path], files, tokenizer, cpd.ProcessorText(False, True),
      max_seq_length=32, max_predictions_per_seq=5, dupe_factor=1,
      use_next_sentence_label=False, use_v2_feature_names=True,
      documents_per_chunk=2, **kwargs)
  return files, counts


@pytest.mark.slow
def test_same_files_for_one_and_two_workers(tokenizer, corpus, tmp_path):
  """Two spawned workers write the same bytes as one process."""
  path, documents = corpus
  one, counts_one = _run_sharded(tokenizer, path, tmp_path / 'w1' / 'out')
  two, counts_two = _run_sharded(tokenizer, path, tmp_path / 'w2' / 'out',
                                 num_workers=2)
  assert counts_one == counts_two
  assert counts_one['documents'] == len(documents)
  assert counts_one['shard_min'] > 0
  assert _file_bytes(one) == _file_bytes(two)
  assert not any(name.endswith('.incomplete')
                 for name in os.listdir(tmp_path / 'w2'))


def test_resume_rewrites_only_unfinished_shards(tokenizer, corpus, tmp_path):
  path, _ = corpus
  files, counts = _run_sharded(tokenizer, path, tmp_path / 'out')
  assert counts['shards_written'] == 4
  original = _file_bytes(files)
  assert len(set(original)) == 4
  # A killed run: shard 2 never finished, shard 1 was half-written.
  os.remove(files[2])
  os.remove(files[1])
  with open(files[1] + '.incomplete', 'wb') as f:
    f.write(original[1][:50])
  kept = {i: os.stat(files[i]).st_mtime_ns for i in (0, 3)}
  _, resumed = _run_sharded(tokenizer, path, tmp_path / 'out')
  assert resumed['shards_skipped'] == 2 and resumed['shards_written'] == 2
  assert resumed['instances'] == counts['instances']
  assert {i: os.stat(files[i]).st_mtime_ns for i in (0, 3)} == kept
  assert _file_bytes(files) == original
  assert not os.path.exists(files[1] + '.incomplete')
  # Other settings make the finished shards stale: all are rewritten.
  _, changed = _run_sharded(tokenizer, path, tmp_path / 'out', random_seed=9)
  assert changed['shards_skipped'] == 0 and changed['shards_written'] == 4
  assert _file_bytes(files) != original
  _, again = _run_sharded(tokenizer, path, tmp_path / 'out', random_seed=9,
                          resume=False)
  assert again['shards_written'] == 4


def test_shard_ranges_split_documents_evenly(tmp_path):
  a, b = tmp_path / 'a.txt', tmp_path / 'b.txt'
  a.write_bytes(b'a1\na2\n\nb1\n\n\nc1\nc2\n')
  b.write_bytes(b'\nd1\n\ne1\n')
  files = [str(a), str(b)]
  processor = cpd.ProcessorText(False, True)
  starts = cpd.document_starts(files, processor)
  assert [list(s) for s in starts] == [[0, 7, 12], [1, 5]]
  ranges = cpd.shard_ranges(files, starts, 2)
  # 5 documents: shard 0 gets a, b; shard 1 gets c, d, e across both files.
  assert ranges == [[(str(a), 0, 12)], [(str(a), 12, 18), (str(b), 0, 8)]]
  assert cpd.shard_ranges(files, starts, 7)[0] == []


def test_num_workers_checked_before_reading(tokenizer, tmp_path):
  missing = str(tmp_path / 'not_there.txt')
  with pytest.raises(ValueError, match='num_workers=0'):
    cpd.create_pretraining_data([missing], [str(tmp_path / 'o')], tokenizer,
                                cpd.ProcessorText(False, True), num_workers=0)
  with pytest.raises(ValueError, match='picklable'):
    cpd.create_pretraining_data(
        [missing], [str(tmp_path / 'o')], tokenizer,
        tfm_data.get_processor_text_fn(False, True), num_workers=2)
