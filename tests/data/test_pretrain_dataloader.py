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

"""Tests token_drop.data.pretrain_dataloader: masking and the text loader."""

import os

import numpy as np
import pytest
import tensorflow as tf

from token_drop.data import checks
from token_drop.data import pretrain_dataloader

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VOCAB = os.path.join(REPO, 'data', 'vocab', 'bert_en_uncased_vocab.txt')
VALID = os.path.join(REPO, 'data', 'corpus', 'demo_valid.txt')
PAD, CLS, SEP, MASK = 0, 1, 2, 3
VOCAB_SIZE = 1000


def _mask(input_ids, seed=(1, 2), max_predictions=8, rate=0.15):
  return {k: v.numpy() for k, v in pretrain_dataloader.mask_tokens(
      tf.constant(input_ids, tf.int32), seed=tf.constant(seed, tf.int32),
      max_predictions_per_seq=max_predictions, masking_rate=rate,
      vocab_size=VOCAB_SIZE, mask_id=MASK,
      special_ids=(CLS, SEP, PAD)).items()}


def _batch(batch_size, seq_length, seed=0):
  """[CLS] random ids [SEP], then [PAD]s after a random length."""
  rng = np.random.default_rng(seed)
  ids = rng.integers(10, VOCAB_SIZE, size=(batch_size, seq_length))
  for row in ids:
    length = rng.integers(4, seq_length + 1)
    row[0], row[length - 1] = CLS, SEP
    row[length:] = PAD
  return ids.astype(np.int32)


def test_mask_tokens_invariants():
  ids = _batch(64, 32)
  out = _mask(ids, max_predictions=6, rate=0.2)
  for row, masked, pos, labels, weights in zip(
      ids, out['input_word_ids'], out['masked_lm_positions'],
      out['masked_lm_ids'], out['masked_lm_weights']):
    candidates = int(np.sum(~np.isin(row, (CLS, SEP, PAD))))
    num = int(weights.sum())
    assert num == min(max(round(candidates * 0.2), 1), 6, candidates)
    np.testing.assert_array_equal(weights[:num], 1.0)
    np.testing.assert_array_equal(weights[num:], 0.0)
    used = pos[:num]
    assert np.all(np.diff(used) > 0)
    np.testing.assert_array_equal(pos[num:], 0)
    np.testing.assert_array_equal(labels[num:], 0)
    np.testing.assert_array_equal(labels[:num], row[used])
    # Special tokens are never predicted, only predicted positions change.
    assert not np.isin(row[used], (CLS, SEP, PAD)).any()
    unchanged = np.ones_like(row, dtype=bool)
    unchanged[used] = False
    np.testing.assert_array_equal(masked[unchanged], row[unchanged])


def test_mask_tokens_only_specials_predicts_nothing():
  ids = np.array([[CLS, SEP, PAD, PAD], [CLS, 50, SEP, PAD]], np.int32)
  out = _mask(ids, max_predictions=3)
  np.testing.assert_array_equal(out['masked_lm_weights'],
                                [[0, 0, 0], [1, 0, 0]])
  np.testing.assert_array_equal(out['input_word_ids'][0], ids[0])
  assert out['masked_lm_positions'][1, 0] == 1
  assert out['masked_lm_ids'][1, 0] == 50


def test_mask_tokens_80_10_10():
  ids = _batch(1024, 128, seed=1)
  out = _mask(ids, max_predictions=20, rate=0.15)
  weights = out['masked_lm_weights'].astype(bool)
  replaced = np.take_along_axis(out['input_word_ids'],
                                out['masked_lm_positions'], axis=1)[weights]
  labels = out['masked_lm_ids'][weights]
  n = labels.size
  assert n > 8000
  is_mask = replaced == MASK
  same = (replaced == labels) & ~is_mask
  other = ~is_mask & ~same
  # Binomial std is < 0.0045 at n > 8000; tolerance 0.02 is > 4 std.
  assert abs(is_mask.mean() - 0.8) < 0.02
  assert abs(same.mean() - 0.1) < 0.02
  assert abs(other.mean() - 0.1) < 0.02
  assert np.all((replaced[other] >= 0) & (replaced[other] < VOCAB_SIZE))


def test_mask_tokens_deterministic_per_seed():
  ids = _batch(8, 32)
  a, b, c = _mask(ids, seed=(3, 4)), _mask(ids, seed=(3, 4)), _mask(
      ids, seed=(3, 5))
  for key in a:
    np.testing.assert_array_equal(a[key], b[key])
  assert not np.array_equal(a['masked_lm_positions'],
                            c['masked_lm_positions'])


def _text_config(**kwargs):
  values = dict(input_path=VALID, input_format='text', vocab_file=VOCAB,
                seq_length=32, max_predictions_per_seq=5,
                global_batch_size=4, is_training=False,
                use_next_sentence_label=False, seed=11)
  values.update(kwargs)
  return pretrain_dataloader.PretrainDataConfig(**values)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_text_loader_shapes_and_specials():
  params = _text_config()
  batches = list(pretrain_dataloader.PretrainDataLoader(params).load().take(3))
  vocab = checks.read_vocab(VOCAB)
  cls_id, sep_id, mask_id = vocab['[CLS]'], vocab['[SEP]'], vocab['[MASK]']
  for batch in batches:
    assert batch['input_word_ids'].shape == (4, 32)
    assert batch['input_word_ids'].dtype == tf.int32
    for name in ('masked_lm_positions', 'masked_lm_ids', 'masked_lm_weights'):
      assert batch[name].shape == (4, 5)
    np.testing.assert_array_equal(batch['input_mask'], 1)
    np.testing.assert_array_equal(batch['input_type_ids'], 0)
    ids = batch['input_word_ids'].numpy()
    np.testing.assert_array_equal(ids[:, 0], cls_id)
    np.testing.assert_array_equal(ids[:, -1], sep_id)
    weights = batch['masked_lm_weights'].numpy()
    # 15% of 30 candidates rounds to 4 (fewer if [SEP]s sit inside).
    assert np.all(weights.sum(axis=1) >= 1) and np.all(weights[:, 4] == 0)
    labels = batch['masked_lm_ids'].numpy()[weights > 0]
    assert not np.isin(labels, (cls_id, sep_id, vocab['[PAD]'])).any()
    assert (ids == mask_id).sum() > 0
  # Evaluation batches are the same on every pass.
  again = next(iter(pretrain_dataloader.PretrainDataLoader(params).load()))
  for key in again:
    np.testing.assert_array_equal(again[key], batches[0][key])


def test_text_loader_rejects_nsp_and_bad_vocab(tmp_path):
  with pytest.raises(checks.InputDataError, match='use_next_sentence_label'):
    pretrain_dataloader.PretrainDataLoader(
        _text_config(use_next_sentence_label=True))
  vocab = tmp_path / 'vocab.txt'
  vocab.write_text('[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n')
  with pytest.raises(checks.InputDataError, match=r'no \[MASK\] token'):
    pretrain_dataloader.PretrainDataLoader(_text_config(vocab_file=str(vocab)))
  with pytest.raises(checks.InputDataError, match='input_format'):
    pretrain_dataloader.PretrainDataLoader(_text_config(input_format='csv'))


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_text_loader_shards_by_file(tmp_path):
  """With as many files as input pipelines, each pipeline reads whole files."""
  words = {'a': 'apple', 'b': 'river'}
  for name, word in words.items():
    (tmp_path / f'{name}.txt').write_text(
        ''.join(f'the {word} is here number {i} .\n' + ('\n' if i % 3 == 2
                                                          else '')
                for i in range(40)))
  vocab = checks.read_vocab(VOCAB)
  params = _text_config(input_path=str(tmp_path / '*.txt'))
  seen = []
  for pipeline_id in range(2):
    context = tf.distribute.InputContext(
        num_input_pipelines=2, input_pipeline_id=pipeline_id,
        num_replicas_in_sync=2)
    dataset = pretrain_dataloader.PretrainDataLoader(params).load(context)
    tokens = set()
    for batch in dataset:
      ids = batch['input_word_ids'].numpy()
      weights = batch['masked_lm_weights'].numpy() > 0
      tokens |= set(ids.ravel().tolist())
      tokens |= set(batch['masked_lm_ids'].numpy()[weights].tolist())
    seen.append({w for w in words.values() if vocab[w] in tokens})
  assert seen == [{'apple'}, {'river'}]
