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

"""Tests for token_drop.data.build_vocab."""

import os

import pytest
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops import bert_tokenizer
from tensorflow_text.tools.wordpiece_vocab import (
    wordpiece_tokenizer_learner_lib as learner)

from official.nlp.tools import tokenization
from token_drop.data import build_vocab
from token_drop.data import checks
from token_drop.data import create_pretraining_data as cpd

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CORPUS = os.path.join(REPO, 'data', 'corpus', 'demo_train.txt')
# A coarser threshold search than the default keeps the learner fast here.
FAST = {'slack_ratio': 0.25, 'lower_thresh': 2}


@pytest.fixture(scope='module')
def text(tmp_path_factory):
  """First 150 lines (with document breaks) of the demo corpus."""
  with open(CORPUS, encoding='utf-8') as f:
    lines = [next(f) for _ in range(150)]
  path = tmp_path_factory.mktemp('vocab') / 'text.txt'
  path.write_text(''.join(lines), encoding='utf-8')
  return str(path), [l.strip() for l in lines if l.strip()]


@pytest.fixture(scope='module')
def vocab_file(text, tmp_path_factory):
  vocab = build_vocab.build_vocab([text[0]], vocab_size=300,
                                  num_unused_tokens=2, learn_params=FAST)
  path = tmp_path_factory.mktemp('vocab') / 'vocab.txt'
  path.write_text(''.join(t + '\n' for t in vocab), encoding='utf-8')
  return str(path), vocab


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_layout_and_size(vocab_file):
  _, vocab = vocab_file
  assert len(vocab) == 300 and len(set(vocab)) == 300
  assert vocab[:7] == ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
                       '[unused0]', '[unused1]']
  learned = [t for t in vocab[7:] if not t.startswith('[unused')]
  assert len(learned) > 200
  assert any(t.startswith('##') for t in learned)
  assert 'the' in learned and all(t == t.lower() for t in learned)
  vocab_ids = checks.read_vocab(vocab_file[0])
  cpd.check_vocab(vocab_ids, vocab_file[0])
  assert vocab_ids['[PAD]'] == 0


def test_tokenizers_use_vocab(text, vocab_file):
  path, vocab = vocab_file
  lines = text[1][:50]
  tokenizer = tf_text.BertTokenizer(path, lower_case=True,
                                    token_out_type=tf.int64)
  ids = tokenizer.tokenize(tf.constant(lines)).merge_dims(1, 2)
  flat = ids.flat_values.numpy()
  # Every character of the text is in the vocabulary: no [UNK].
  assert flat.size > 500 and (flat != vocab.index('[UNK]')).all()
  assert ids.row_lengths().numpy().min() > 0
  # tfm's tokenizer (used by create_pretraining_data) agrees.
  full = tokenization.FullTokenizer(path, do_lower_case=True)
  for line, row in zip(lines[:10], ids.to_list()):
    assert full.convert_tokens_to_ids(full.tokenize(line)) == row


def test_cased_and_errors(text):
  vocab = build_vocab.build_vocab([text[0]], vocab_size=200,
                                  do_lower_case=False, max_lines=60,
                                  learn_params=FAST)
  assert len(vocab) == 200
  assert any(t != t.lower() for t in vocab[5:])
  with pytest.raises(ValueError, match='vocab_size=6'):
    build_vocab.build_vocab([text[0]], vocab_size=6, num_unused_tokens=1)


def _reference_counts(path, do_lower_case=True, max_lines=0):
  """Word counts the way tensorflow-text's bert_vocab_from_dataset counts."""
  lines = tf.data.TextLineDataset([path])
  if max_lines:
    lines = lines.take(max_lines)
  basic = bert_tokenizer.BasicTokenizer(lower_case=do_lower_case)
  words = lines.filter(lambda l: tf.strings.length(l) > 0).batch(64).map(
      basic.tokenize)
  return dict(learner.count_words(words))


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_count_words_matches_tensorflow_text(text):
  path, _ = text
  assert build_vocab.count_words([path]) == _reference_counts(path)
  # Cut into ~3 KB ranges at line starts: the same counts.
  assert build_vocab.count_words([path], unit_bytes=3000) == (
      _reference_counts(path))
  limited = build_vocab.count_words([path, path], do_lower_case=False,
                                    max_lines=60, unit_bytes=2000)
  assert limited == _reference_counts(path, False, 60)
  with pytest.raises(ValueError, match='num_workers=0'):
    build_vocab.count_words([path], num_workers=0)


@pytest.mark.slow
def test_two_workers_count_the_same(text):
  path, _ = text
  one = build_vocab.count_words([path, CORPUS], max_lines=3000)
  two = build_vocab.count_words([path, CORPUS], max_lines=3000,
                                num_workers=2, unit_bytes=20000)
  assert one == two and sum(one.values()) > 20000
