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

"""Tests for the fine-tuning data: create_finetuning_data, the raw-file loaders
and the bundled data/classification and data/ner files."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import yaml

from official.nlp.tools import tokenization
from token_drop.data import checks
from token_drop.data import create_finetuning_data
from token_drop.data import finetuning_data
from token_drop.data import finetuning_dataloader

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VOCAB = os.path.join(REPO_ROOT, 'data', 'vocab', 'bert_en_uncased_vocab.txt')
TOKENIZER = tokenization.FullTokenizer(VOCAB, do_lower_case=True)
CLS, SEP = TOKENIZER.convert_tokens_to_ids(['[CLS]', '[SEP]'])


def read_records(path):
  out = []
  for record in tf.data.TFRecordDataset(path):
    example = tf.train.Example.FromString(record.numpy())
    out.append({k: list(v.int64_list.value)
                for k, v in example.features.feature.items()})
  return out


def ids(text):
  return TOKENIZER.convert_tokens_to_ids(TOKENIZER.tokenize(text))


def test_classification_pairs_and_label_list(tmp_path):
  path = tmp_path / 'pairs.csv'
  path.write_text('id,question,answer,gold\n'
                  '1,"Is it good, really?",Yes it is,pos\n'
                  '2,Bad tea,"No, stale",neg\n')
  out = str(tmp_path / 'out' / 'pairs.tfrecord')
  meta = create_finetuning_data.create(
      'classification', str(path), out, VOCAB, max_seq_length=16,
      text_columns=['question', 'answer'], label_column='gold',
      label_list=['neg', 'pos'])
  assert meta['num_examples'] == 2 and meta['label_list'] == ['neg', 'pos']
  with open(out + '.meta.json') as f:
    assert json.load(f)['num_labels'] == 2
  first, second = read_records(out)
  a, b = ids('Is it good, really?'), ids('Yes it is')
  expected = [CLS] + a + [SEP] + b + [SEP]
  assert first['input_ids'][:len(expected)] == expected
  assert first['input_ids'][len(expected):] == [0] * (16 - len(expected))
  assert first['segment_ids'][:len(expected)] == (
      [0] * (len(a) + 2) + [1] * (len(b) + 1))
  assert sum(first['input_mask']) == len(expected)
  assert first['label_ids'] == [1] and second['label_ids'] == [0]


def test_classification_integer_labels_tsv_by_index(tmp_path):
  path = tmp_path / 'reviews.tsv'
  # TSV fields keep their quotes as text.
  path.write_text('sentence\tlabel\n"great" tea\t1\nmeh\t0\nok\t2\n')
  examples, labels = finetuning_data.classification_examples(
      str(path), ['0'], '1')
  assert labels == ['0', '1', '2']
  assert examples[0].text_a == '"great" tea' and examples[2].label == '2'


@pytest.mark.parametrize('content, kwargs, message', [
    ('text\tlabel\nfine\t1\n', dict(text_columns=['sentence']),
     r"no column 'sentence'; the header has \['text', 'label'\]"),
    ('sentence\tlabel\nfine\tpositive\n', {},
     r":2: label 'positive' is not an integer id"),
    ('sentence\tlabel\nfine\t1\nshort row\n', {},
     r':3: 1 field\(s\), expected at least 2'),
    ('sentence\tlabel\nfine\tpos\n', dict(label_list=['neg', 'ok']),
     r":2: label 'pos' is not in the label list \['neg', 'ok'\]"),
])
def test_classification_errors_name_file_and_line(tmp_path, content, kwargs,
                                                  message):
  path = tmp_path / 'bad.tsv'
  path.write_text(content)
  kwargs.setdefault('text_columns', ['sentence'])
  with pytest.raises(checks.InputDataError, match=message):
    finetuning_data.classification_examples(str(path), label_column='label',
                                            **kwargs)


def test_tagging_labels_first_subword_only(tmp_path):
  path = tmp_path / 'ner.txt'
  path.write_text('-DOCSTART- -X- O O\n\n'
                  'Empire NNP B-NP B-facility\nunaffable JJ I-NP O\n\n'
                  'Paris\tB-geo-loc\n')
  labels = ['O', 'B-facility', 'B-geo-loc']
  out = str(tmp_path / 'ner.tfrecord')
  meta = create_finetuning_data.create('tagging', str(path), out, VOCAB,
                                       max_seq_length=8, label_list=labels)
  assert meta['num_examples'] == 2
  first, second = read_records(out)
  words = ids('Empire') + ids('unaffable')
  assert len(ids('unaffable')) == 3  # una ##ffa ##ble
  assert first['input_ids'][:len(words) + 2] == [CLS] + words + [SEP]
  label_row = [-1] + [1] * 1 + [-1] * (len(ids('Empire')) - 1) + [0, -1, -1]
  assert first['label_ids'] == label_row + [-1] * (8 - len(label_row))
  assert second['label_ids'][:3] == [-1, 2, -1]
  assert second['sentence_id'] == [1]


def test_tagging_default_label_order_and_errors(tmp_path):
  path = tmp_path / 'ner.txt'
  path.write_text('a\tB-x\nb\tO\n\nc\tI-x\n')
  _, labels = finetuning_data.read_conll(str(path))
  assert labels == ['O', 'B-x', 'I-x']
  with pytest.raises(checks.InputDataError,
                     match=r"ner.txt:4: tag 'I-x' is not in the label list"):
    finetuning_data.read_conll(str(path), ['O', 'B-x'])
  path.write_text('a\tO\nlonely\n')
  with pytest.raises(checks.InputDataError, match=r"ner.txt:2: 'lonely' has "
                     'no tag'):
    finetuning_data.read_conll(str(path))


def reviews_config(tmp_path, count, seq_length, batch_size):
  """Eval config over a TSV of `count` short reviews, labels alternating."""
  path = tmp_path / 'reviews.tsv'
  path.write_text('sentence\tlabel\n' + ''.join(
      f'review number {i} is {"good" if i % 2 else "bad"}\t{i % 2}\n'
      for i in range(count)))
  return finetuning_dataloader.SentencePredictionRawDataConfig(
      source_path=str(path), vocab_file=VOCAB, seq_length=seq_length,
      global_batch_size=batch_size, is_training=False, drop_remainder=False,
      cache_dir=str(tmp_path / 'cache'))


def test_raw_loader_builds_once_and_batches(tmp_path):
  params = reviews_config(tmp_path, 10, seq_length=12, batch_size=4)
  built = finetuning_dataloader.build_sentence_prediction_records(params)
  stamp = os.stat(built).st_mtime_ns
  loader = finetuning_dataloader.SentencePredictionRawDataLoader(params)
  batches = list(loader.load())
  assert os.stat(built).st_mtime_ns == stamp  # Reused, not rebuilt.
  assert os.listdir(tmp_path / 'cache') == [os.path.basename(built)]
  first = batches[0]
  assert first['input_word_ids'].shape == (4, 12)
  np.testing.assert_array_equal(first['input_word_ids'][:, 0], CLS)
  assert first['label_ids'].numpy().tolist() == [0, 1, 0, 1]
  assert sum(int(b['label_ids'].shape[0]) for b in batches) == 10
  longer = params.replace(seq_length=16)
  assert finetuning_dataloader.build_sentence_prediction_records(
      longer) != built

  no_vocab = params.replace(vocab_file='')
  with pytest.raises(checks.InputDataError, match='vocab_file is not set'):
    finetuning_dataloader.SentencePredictionRawDataLoader(no_vocab)
  tagging = finetuning_dataloader.TaggingRawDataConfig(
      source_path=params.source_path, vocab_file=VOCAB)
  with pytest.raises(checks.InputDataError, match='label_list is not set'):
    finetuning_dataloader.TaggingRawDataLoader(tagging)


def test_windows_of_long_texts_are_word_aligned(tmp_path):
  # One- and two-piece words, all different, so windows start at uneven
  # offsets and a start can land exactly `stride` pieces on.
  whole = [w for w in list(TOKENIZER.vocab)[2000:2100] if w.isalpha()]
  words = [f'w{i}' if i % 3 else whole[i] for i in range(40)]
  path = tmp_path / 'long.tsv'
  path.write_text(f'sentence\tlabel\nshort text\t0\n{" ".join(words)}\t1\n')
  examples, labels = finetuning_data.classification_examples(
      str(path), ['sentence'], 'label')
  seq_length, stride = 16, 5
  room = seq_length - 2
  out = finetuning_data.window_examples(examples, VOCAB, True, seq_length,
                                        stride)
  assert out[:2] == examples[:2]  # Each example first, windows after it.
  windows = out[2:]
  pieces = [len(TOKENIZER.tokenize(w)) for w in words]
  offsets = np.cumsum([0] + pieces)
  starts = [0]
  for window in windows:
    assert window.label == '1' and window.text_b is None
    window_words = window.text_a.split()
    start = words.index(window_words[0])
    assert words[start:start + len(window_words)] == window_words
    # The first word at least `stride` pieces after the previous start.
    assert offsets[start] - offsets[starts[-1]] >= stride
    assert offsets[start - 1] - offsets[starts[-1]] < stride
    assert offsets[start + len(window_words)] - offsets[start] <= room
    if start + len(window_words) < len(words):  # Holds every word that fits.
      assert offsets[start + len(window_words) + 1] - offsets[start] > room
    starts.append(start)
  assert window_words[-1] == words[-1]  # The last window reaches the end.
  assert offsets[-1] - offsets[starts[-2]] > room  # And is needed.
  assert len(windows) >= (offsets[-1] - room) // 8  # Strides are short.

  for bad in (0, room + 1):
    with pytest.raises(checks.InputDataError, match=f'stride {bad} must be'):
      finetuning_data.window_examples(examples, VOCAB, True, seq_length, bad)
  pair = examples[0].__class__(guid='p', text_a='a b', text_b='c',
                               label='0')
  with pytest.raises(checks.InputDataError, match='sentence pair'):
    finetuning_data.window_examples([pair], VOCAB, True, seq_length, stride)

  params = finetuning_dataloader.SentencePredictionRawDataConfig(
      source_path=str(path), vocab_file=VOCAB, seq_length=seq_length,
      global_batch_size=2, cache_dir=str(tmp_path / 'cache'),
      window_stride=stride)
  built = finetuning_dataloader.build_sentence_prediction_records(params)
  records = read_records(built)
  assert len(records) == len(out)
  assert records[3]['input_ids'][:4] == [CLS] + ids(windows[1].text_a)[:3]
  assert built != finetuning_dataloader.build_sentence_prediction_records(
      params.replace(window_stride=0))
  with pytest.raises(checks.InputDataError, match='window_stride=5 augments'):
    finetuning_dataloader.SentencePredictionRawDataLoader(
        params.replace(is_training=False))
  with pytest.raises(checks.InputDataError, match='needs source_path'):
    finetuning_dataloader.SentencePredictionRawDataLoader(
        params.replace(source_path='', input_path=built))

  meta = create_finetuning_data.create(
      'classification', str(path), str(tmp_path / 'w.tfrecord'), VOCAB,
      max_seq_length=seq_length, window_stride=stride)
  assert (meta['num_records'], meta['window_stride']) == (len(out), stride)
  with pytest.raises(checks.InputDataError, match='tagging splits'):
    create_finetuning_data.create('tagging', str(path), str(tmp_path / 't'),
                                  VOCAB, window_stride=stride)


def test_mask_rate_masks_word_pieces_afresh_each_epoch(tmp_path):
  params = reviews_config(tmp_path, 40, seq_length=16, batch_size=40)
  clean = next(iter(finetuning_dataloader.SentencePredictionRawDataLoader(
      params).load()))
  masked = params.replace(is_training=True, mask_rate=0.3,
                          shuffle_buffer_size=1, seed=3)

  # One batch is one epoch of the 40 reviews, in order.
  batches = iter(finetuning_dataloader.SentencePredictionRawDataLoader(
      masked).load())
  epochs = [next(batches)['input_word_ids'].numpy() for _ in range(2)]
  want = clean['input_word_ids'].numpy()
  words = (clean['input_mask'].numpy() > 0) & ~np.isin(want, [CLS, SEP])
  mask_id = TOKENIZER.convert_tokens_to_ids(['[MASK]'])[0]
  hits = []
  for got in epochs:
    changed = got != want
    assert (got[changed] == mask_id).all()
    assert not (changed & ~words).any()  # [CLS], [SEP], padding untouched.
    hits.append(changed)
  rate = np.mean([h[words].mean() for h in hits])
  assert words.sum() == 200  # 5 pieces per review, 2 epochs: 400 draws.
  assert abs(rate - 0.3) < 0.07, rate
  assert (hits[0] != hits[1]).any()  # Fresh masks in the second epoch.

  for bad in (params.replace(mask_rate=0.3),
              params.replace(is_training=True, mask_rate=1.5)):
    with pytest.raises(checks.InputDataError, match='must be in'):
      finetuning_dataloader.SentencePredictionRawDataLoader(bad)
  no_mask = tmp_path / 'vocab.txt'
  no_mask.write_text('[PAD]\n[CLS]\n[SEP]\nreview\n')
  with pytest.raises(checks.InputDataError, match=r'has no \[MASK\] token'):
    finetuning_dataloader.SentencePredictionRawDataLoader(params.replace(
        is_training=True, mask_rate=0.3, vocab_file=str(no_mask)))


def test_bundled_data_matches_demo_configs():
  with open(os.path.join(REPO_ROOT, 'configs', 'demo',
                         'tagging_demo.yaml')) as f:
    tagging = yaml.safe_load(f)['task']
  for split in ('train', 'test'):
    _, labels = finetuning_data.read_conll(
        os.path.join(REPO_ROOT, 'data', 'ner', f'ner_{split}.txt'),
        tagging['class_names'])
  assert tagging['train_data']['label_list'] == tagging['class_names']
  assert len(tagging['class_names']) == 21
  counts = {}
  for split in ('train', 'test'):
    rows = finetuning_data.read_classification_file(
        os.path.join(REPO_ROOT, 'data', 'classification',
                     f'fine_foods_{split}.tsv'), ['sentence'], 'label')
    counts[split] = (len(rows), sum(r[1] == '1' for r in rows))
  assert counts == {'train': (2000, 1299), 'test': (1000, 658)}


@pytest.mark.slow
def test_cli_writes_records_and_reports_errors(tmp_path):
  out = tmp_path / 'ner.tfrecord'
  cmd = [sys.executable, '-m', 'token_drop.data.create_finetuning_data',
         '--task=tagging', '--input_file=data/ner/ner_train.txt',
         f'--output_file={out}', '--max_seq_length=32']
  result = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'labels (21): O,B-company' in result.stdout
  assert len(read_records(str(out))) >= 2155
  bad = cmd[:4] + ['--input_file=data/ner/missing.txt',
                   f'--output_file={out}']
  result = subprocess.run(bad, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
  assert result.returncode != 0
  assert "'data/ner/missing.txt' does not exist" in result.stderr
