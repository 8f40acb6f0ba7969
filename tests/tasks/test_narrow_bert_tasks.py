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

"""NarrowBERT tasks: MLM at masked positions, tagging at labelled positions."""

import numpy as np
import pytest
import tensorflow as tf

from official.modeling import optimization
from official.nlp.configs import bert
from official.nlp.configs import encoders
from official.nlp.data import tagging_dataloader
from official.nlp.tasks import tagging
from token_drop.data import finetuning_data
from token_drop.data import pretrain_dataloader
from token_drop.encoders import narrow_bert
from token_drop.tasks import narrow_bert as narrow_tasks

VOCAB = 40
SEQ = 10
BATCH = 2


def _encoder_config(full=1, mode='sparse_queries'):
  return encoders.EncoderConfig(
      type='any', any=narrow_bert.NarrowBertEncoderConfig(
      vocab_size=VOCAB, hidden_size=16, num_layers=3, num_attention_heads=2,
      intermediate_size=32, max_position_embeddings=SEQ, dropout_rate=0.0,
      attention_dropout_rate=0.0, full_length_layers=full, narrow_mode=mode))


def _mlm_inputs(seed=0):
  rng = np.random.RandomState(seed)
  ids = rng.randint(5, VOCAB, size=(BATCH, SEQ)).astype(np.int32)
  mask = np.ones((BATCH, SEQ), np.int32)
  mask[1, 7:] = 0
  positions = np.array([[2, 5, 0], [1, 3, 0]], np.int32)  # last slot: padding
  return dict(input_word_ids=tf.constant(ids), input_mask=tf.constant(mask),
              input_type_ids=tf.zeros_like(ids),
              masked_lm_positions=tf.constant(positions),
              masked_lm_ids=tf.constant(np.take_along_axis(ids, positions, 1)),
              masked_lm_weights=tf.constant([[1., 1., 0.], [1., 1., 0.]]))


def _mlm_task(cls_heads=()):
  config = narrow_tasks.NarrowMaskedLMConfig(
      model=bert.PretrainerConfig(encoder=_encoder_config(),
                                  cls_heads=list(cls_heads)),
      train_data=pretrain_dataloader.PretrainDataConfig(
          use_next_sentence_label=bool(cls_heads)))
  return narrow_tasks.NarrowMaskedLMTask(config)


@pytest.mark.parametrize('with_nsp', [False, True])
def test_mlm_logits_come_from_the_narrow_masked_positions(with_nsp):
  heads = [bert.ClsHeadConfig(inner_dim=16, num_classes=2,
                              name='next_sentence')] if with_nsp else []
  task = _mlm_task(heads)
  model = task.build_model()
  inputs = _mlm_inputs()
  out = model(inputs, training=False)
  positions = inputs['masked_lm_positions']
  encoder = model.encoder_network
  narrow_positions = positions
  if with_nsp:  # [CLS] is narrow too, so the NSP head sees its final state.
    narrow_positions = tf.concat([tf.zeros([BATCH, 1], tf.int32), positions],
                                 1)
  enc = encoder(dict(inputs, narrow_positions=narrow_positions))
  want = model.masked_lm(enc['sequence_output'], masked_positions=positions)
  np.testing.assert_allclose(out['mlm_logits'], want, atol=1e-5)
  assert out['mlm_logits'].shape == (BATCH, 3, VOCAB)
  if with_nsp:
    cls_alone = encoder(dict(inputs, narrow_positions=tf.zeros([BATCH, 1],
                                                               tf.int32)))
    np.testing.assert_allclose(out['sequence_output'][:, 0],
                               cls_alone['narrow_output'][:, 0], atol=1e-5)
  # Inference without masked positions: encoder outputs, no MLM logits.
  bare = {k: inputs[k] for k in ('input_word_ids', 'input_mask',
                                 'input_type_ids')}
  no_labels = model(bare, training=False)
  assert 'mlm_logits' not in no_labels
  assert no_labels['pooled_output'].shape == (BATCH, 16)


def test_padding_slots_do_not_change_the_loss():
  task = _mlm_task()
  model = task.build_model()
  metrics = task.build_metrics(training=True)
  inputs = _mlm_inputs()
  other = dict(inputs)
  other['masked_lm_positions'] = tf.constant([[2, 5, 7], [1, 3, 4]])
  other['masked_lm_ids'] = tf.constant([[0, 0, 9], [0, 0, 11]]) + tf.constant(
      [[1, 1, 0], [1, 1, 0]]) * inputs['masked_lm_ids']
  losses = []
  for x in (inputs, other):
    out = model(x, training=False)
    losses.append(float(task.build_losses(x, out, metrics)))
  assert losses[0] == pytest.approx(losses[1], abs=1e-5)
  optimizer = optimization.OptimizerFactory(optimization.OptimizationConfig({
      'optimizer': {'type': 'adamw'},
      'learning_rate': {'type': 'constant',
                        'constant': {'learning_rate': 1e-3}}})
                                            ).build_optimizer(1e-3)
  logs = task.train_step(inputs, model, optimizer, metrics)
  assert np.isfinite(float(logs['loss']))


def test_labelled_positions_compacts_in_order():
  labels = np.array([[-1, 3, -1, 0, 2, -1], [-1, -1, 1, -1, -1, -1]])
  positions, valid = narrow_tasks.labelled_positions(tf.constant(labels), 4)
  np.testing.assert_array_equal(positions, [[1, 3, 4, 0], [2, 0, 0, 0]])
  np.testing.assert_array_equal(valid, [[1, 1, 1, 0], [1, 0, 0, 0]])


@pytest.mark.parametrize('mode', narrow_bert.NARROW_MODES)
def test_token_classifier_without_positions_matches_labelled_run(mode):
  config = narrow_tasks.NarrowTaggingConfig(
      model=tagging.ModelConfig(encoder=_encoder_config(mode=mode)),
      class_names=['O', 'B', 'I'], narrow_length=4)
  task = narrow_tasks.NarrowTaggingTask(config)
  model = task.build_model()
  inputs = _mlm_inputs(seed=1)
  labels = tf.constant([[-1, 0, 2, -1, 1, -1, -1, -1, -1, -1],
                        [-1, 1, -1, -1, 0, 0, -1, -1, -1, -1]])
  positions, _ = narrow_tasks.labelled_positions(labels, 4)
  features = {k: inputs[k] for k in ('input_word_ids', 'input_mask',
                                     'input_type_ids')}
  narrow = model(dict(features, narrow_positions=positions),
                 training=False)['logits'].numpy()
  every = model(features, training=False)['logits'].numpy()
  labelled = labels.numpy() >= 0
  assert narrow.shape == every.shape == (BATCH, SEQ, 3)
  np.testing.assert_allclose(narrow[labelled], every[labelled], atol=1e-5)
  # Unlabelled positions are not computed (position 0 is a padding slot).
  unlabelled = ~labelled
  unlabelled[:, 0] = False
  assert not narrow[unlabelled].any()
  loss = task.build_losses(labels, dict(logits=tf.constant(narrow)))
  assert np.isfinite(float(loss))


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_predictions_are_written_next_to_the_original_words(tmp_path):
  vocab = tmp_path / 'vocab.txt'
  vocab.write_text('\n'.join(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'the',
                              'cat', 'sat', 'run', '##ning', 'dog', 'on',
                              'mat']) + '\n')
  conll = tmp_path / 'ner.txt'
  sentences = [[('the', 'O'), ('running', 'B'), ('cat', 'I')],
               [('dog', 'B'), ('sat', 'O'), ('on', 'O'), ('the', 'O'),
                ('mat', 'B')]]
  conll.write_text('\n\n'.join('\n'.join(f'{w} {t}' for w, t in s)
                               for s in sentences) + '\n')
  records = str(tmp_path / 'ner.tfrecord')
  examples, labels = finetuning_data.read_conll(str(conll), ['O', 'B', 'I'])
  finetuning_data.write_tagging(examples, str(vocab), True, SEQ, records)
  enc = _encoder_config()
  enc.any.vocab_size = 12
  config = narrow_tasks.NarrowTaggingConfig(
      model=tagging.ModelConfig(encoder=enc), class_names=labels,
      narrow_length=5)
  task = narrow_tasks.NarrowTaggingTask(config)
  model = task.build_model()
  data = tagging_dataloader.TaggingDataConfig(
      input_path=records, seq_length=SEQ, global_batch_size=2,
      is_training=False, include_sentence_id=True, drop_remainder=False)
  predictions = narrow_tasks.predict_words(task, data, model)
  assert [len(p) for _, p in predictions] == [3, 5]
  # The tags equal the argmax at the first sub-word of each word, computed
  # without labels ('running' -> run ##ning: the tag of 'run').
  ids = np.array([[2, 4, 7, 8, 5, 3, 0, 0, 0, 0],
                  [2, 9, 6, 10, 4, 11, 3, 0, 0, 0]], np.int32)
  logits = model(dict(input_word_ids=ids, input_mask=(ids > 0).astype(
      np.int32), input_type_ids=np.zeros_like(ids)), training=False)['logits']
  first = [[1, 2, 4], [1, 2, 3, 4, 5]]
  want = [[labels[int(np.argmax(logits[b, p]))] for p in first[b]]
          for b in range(2)]
  assert [p for _, p in predictions] == want
  out = tmp_path / 'pred.txt'
  narrow_tasks.write_predictions(
      str(out), [[w for w, _ in s] for s in sentences],
      [[t for _, t in s] for s in sentences], predictions)
  lines = out.read_text().split('\n')
  assert lines[1] == f'running B {want[0][1]}'
  assert lines[4] == f'dog B {want[1][0]}'


def test_too_many_labelled_words_for_narrow_length_is_reported(tmp_path):
  vocab = tmp_path / 'vocab.txt'
  vocab.write_text('\n'.join(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'a', 'b'])
                   + '\n')
  conll = tmp_path / 'ner.txt'
  conll.write_text('a O\nb B\na O\nb B\n')
  records = str(tmp_path / 'ner.tfrecord')
  examples, labels = finetuning_data.read_conll(str(conll), ['O', 'B'])
  finetuning_data.write_tagging(examples, str(vocab), True, SEQ, records)
  enc = _encoder_config()
  enc.any.vocab_size = 6
  task = narrow_tasks.NarrowTaggingTask(narrow_tasks.NarrowTaggingConfig(
      model=tagging.ModelConfig(encoder=enc), class_names=labels,
      narrow_length=3))
  data = tagging_dataloader.TaggingDataConfig(
      input_path=records, seq_length=SEQ, global_batch_size=1,
      is_training=False, drop_remainder=False)
  with pytest.raises(tf.errors.InvalidArgumentError,
                     match='task.narrow_length=3'):
    next(iter(task.build_inputs(data)))


def test_dummy_tagging_inputs_get_narrow_positions():
  # tfm's `input_path: dummy` (synthetic data) works because build_inputs
  # maps over tfm's own.
  task = narrow_tasks.NarrowTaggingTask(narrow_tasks.NarrowTaggingConfig(
      model=tagging.ModelConfig(encoder=_encoder_config()),
      class_names=['O', 'B']))
  data = tagging_dataloader.TaggingDataConfig(
      input_path='dummy', seq_length=SEQ, global_batch_size=2)
  features, labels = next(iter(task.build_inputs(data)))
  # Dummy labels are random in [-1, classes); -1 marks unlabelled slots.
  labelled = np.flatnonzero(labels[0].numpy() >= 0)
  assert len(labelled) > 0
  np.testing.assert_array_equal(
      features['narrow_positions'][0, :len(labelled)], labelled)
  assert labels.shape[-1] == SEQ
