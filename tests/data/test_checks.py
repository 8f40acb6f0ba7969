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

"""Tests for token_drop.data.checks: errors name the file, key and value."""

import collections

import pytest
import tensorflow as tf

from token_drop.data import checks
from token_drop.data import pretrain_dataloader


def _int(values):
  return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _write_records(path, seq_length=16, predictions=4, v2=False, nsp=True,
                   count=3):
  features = collections.OrderedDict()
  features['input_word_ids' if v2 else 'input_ids'] = _int([1] * seq_length)
  features['input_type_ids' if v2 else 'segment_ids'] = _int([0] * seq_length)
  features['input_mask'] = _int([1] * seq_length)
  features['masked_lm_positions'] = _int([1] * predictions)
  features['masked_lm_ids'] = _int([5] * predictions)
  features['masked_lm_weights'] = tf.train.Feature(
      float_list=tf.train.FloatList(value=[1.0] * predictions))
  if nsp:
    features['next_sentence_labels'] = _int([0])
  record = tf.train.Example(features=tf.train.Features(
      feature=features)).SerializeToString()
  with tf.io.TFRecordWriter(str(path)) as writer:
    for _ in range(count):
      writer.write(record)
  return str(path)


def _params(**kwargs):
  values = dict(seq_length=16, max_predictions_per_seq=4,
                use_next_sentence_label=True, use_v2_feature_names=False)
  values.update(kwargs)
  return pretrain_dataloader.PretrainDataConfig(**values)


def test_expand_input_path(tmp_path):
  a = tmp_path / 'a-1.txt'
  b = tmp_path / 'b.txt'
  a.write_text('x\n')
  b.write_text('y\n')
  assert checks.expand_input_path(f'{b}, {tmp_path}/a-*.txt') == [
      str(b), str(a)]
  assert checks.expand_input_path([str(a), str(b)]) == [str(a), str(b)]
  missing = f'{tmp_path}/missing-*.txt'
  with pytest.raises(checks.InputDataError, match='missing-\\*.txt'):
    checks.expand_input_path(f'{a},{missing}')
  with pytest.raises(checks.InputDataError, match='input_path is empty'):
    checks.expand_input_path(' , ')


def test_expand_input_path_empty_files(tmp_path):
  empty = tmp_path / 'empty.txt'
  empty.write_text('')
  with pytest.raises(checks.InputDataError, match='every matched file is '
                     'empty'):
    checks.expand_input_path(str(empty))
  full = tmp_path / 'full.txt'
  full.write_text('text\n')
  assert len(checks.expand_input_path(f'{empty},{full}')) == 2


def test_vocab_errors(tmp_path):
  vocab = tmp_path / 'vocab.txt'
  vocab.write_text('[PAD]\n[UNK]\nthe\n')
  assert checks.read_vocab(str(vocab)) == {'[PAD]': 0, '[UNK]': 1, 'the': 2}
  checks.check_vocab_size(str(vocab), 3, 'encoder.vocab_size')
  with pytest.raises(checks.InputDataError,
                     match=r'has 3 entries but encoder.vocab_size is 30522'):
    checks.check_vocab_size(str(vocab), 30522, 'encoder.vocab_size')
  with pytest.raises(checks.InputDataError, match='does not exist'):
    checks.read_vocab(str(tmp_path / 'nope.txt'))
  with pytest.raises(checks.InputDataError, match='not set'):
    checks.read_vocab('')
  empty = tmp_path / 'empty.txt'
  empty.write_text('')
  with pytest.raises(checks.InputDataError, match='is empty'):
    checks.read_vocab(str(empty))


def test_matching_tfrecords_pass(tmp_path):
  files = [_write_records(tmp_path / 'a.tfrecord'),
           _write_records(tmp_path / 'b.tfrecord')]
  checks.check_pretrain_tfrecords(files, _params())
  v2 = _write_records(tmp_path / 'v2.tfrecord', v2=True, nsp=False)
  checks.check_pretrain_tfrecords(
      [v2], _params(use_v2_feature_names=True, use_next_sentence_label=False))


def test_corrupt_tfrecord_names_file(tmp_path):
  good = _write_records(tmp_path / 'good.tfrecord')
  bad = tmp_path / 'bad.tfrecord'
  data = open(good, 'rb').read()
  # Flip bytes inside the second record: its CRC no longer matches.
  bad.write_bytes(data[:len(data) // 2] + b'\xff' * 8 +
                  data[len(data) // 2 + 8:])
  with pytest.raises(checks.InputDataError,
                     match=r"'.*bad\.tfrecord' is corrupt"):
    checks.check_pretrain_tfrecords([good, str(bad)], _params())
  text = tmp_path / 'text.tfrecord'
  text.write_text('one sentence per line\n' * 10)
  with pytest.raises(checks.InputDataError, match='text.tfrecord'):
    checks.check_pretrain_tfrecords([str(text)], _params())


def test_feature_length_mismatch_names_feature(tmp_path):
  path = _write_records(tmp_path / 'short.tfrecord', seq_length=16)
  with pytest.raises(checks.InputDataError,
                     match=r"feature 'input_ids' has length 16 but the config "
                     r'expects 32 \(seq_length\)'):
    checks.check_pretrain_tfrecords([path], _params(seq_length=32))
  with pytest.raises(checks.InputDataError,
                     match=r"'masked_lm_positions' has length 4 .* expects 20 "
                     r'\(max_predictions_per_seq\)'):
    checks.check_pretrain_tfrecords([path],
                                    _params(max_predictions_per_seq=20))


def test_missing_feature_hints_setting(tmp_path):
  path = _write_records(tmp_path / 'v1.tfrecord', nsp=False)
  with pytest.raises(checks.InputDataError,
                     match=r"no feature 'input_word_ids' \(set "
                     'use_v2_feature_names'):
    checks.check_pretrain_tfrecords([path], _params(use_v2_feature_names=True))
  with pytest.raises(checks.InputDataError,
                     match="no feature 'next_sentence_labels'"):
    checks.check_pretrain_tfrecords([path], _params())
