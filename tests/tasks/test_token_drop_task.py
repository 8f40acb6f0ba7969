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

"""Shared masked-LM task and the token-drop task's importance-table update."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.core import exp_factory
from official.core import task_factory
from official.nlp.modeling.layers import routing
from official.nlp.tasks import masked_lm as tfm_masked_lm
from official.nlp.tasks import sentence_prediction
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from token_drop.core import config_parser
from token_drop.encoders import token_drop_bert
from token_drop.tasks import masked_lm
from token_drop.tasks import token_drop_masked_lm
from token_drop.testing import distribute

VOCAB = 40
SEQ = 16
PREDS = 4
KEEP = 8
BATCH = 2


def _config(keep_k=KEEP, seq_length=SEQ):
  config = exp_factory.get_exp_config('token_drop_bert/pretraining')
  config.override({
      'task': {
          'model': {'encoder': {'any': {
              'vocab_size': VOCAB, 'hidden_size': 16, 'num_layers': 4,
              'num_attention_heads': 2, 'intermediate_size': 32,
              'max_position_embeddings': SEQ, 'dropout_rate': 0.0,
              'attention_dropout_rate': 0.0, 'token_keep_k': keep_k,
              'token_allow_list': (1,), 'token_deny_list': (0,)}}},
          'train_data': {'seq_length': seq_length,
                         'max_predictions_per_seq': PREDS},
      }}, is_strict=True)
  return config.task


def _batch(seed, batch=BATCH):
  rng = np.random.RandomState(seed)
  ids = rng.randint(2, VOCAB, size=(batch, SEQ)).astype(np.int32)
  ids[:, 0] = 1
  mask = np.ones_like(ids)
  mask[-1, SEQ - 4:] = 0
  ids[-1, SEQ - 4:] = 0
  lm_ids = rng.randint(2, 6, size=(batch, PREDS)).astype(np.int32)  # repeats
  weights = np.ones((batch, PREDS), np.float32)
  weights[0, -1] = 0.0
  lm_ids[0, -1] = 7  # only in a weight-0 slot
  return dict(
      input_word_ids=tf.constant(ids), input_mask=tf.constant(mask),
      input_type_ids=tf.zeros_like(ids),
      masked_lm_positions=tf.constant(
          np.tile(np.arange(1, PREDS + 1), (batch, 1)).astype(np.int32)),
      masked_lm_ids=tf.constant(lm_ids),
      masked_lm_weights=tf.constant(weights))


def _expected_table(table, batches_and_losses, beta=0.995):
  sums = np.zeros_like(table)
  counts = np.zeros_like(table)
  for batch, losses in batches_and_losses:
    w = batch['masked_lm_weights'].numpy() > 0
    np.add.at(sums, batch['masked_lm_ids'].numpy()[w], losses[w])
    np.add.at(counts, batch['masked_lm_ids'].numpy()[w], 1.0)
  seen = counts > 0
  want = table.copy()
  want[seen] = beta * table[seen] + (1 - beta) * sums[seen] / counts[seen]
  return want


def _build(task_config=None):
  task = task_factory.get_task(task_config or _config())
  model = task.build_model()
  model(_batch(0))
  return task, model


def test_shared_task_losses_match_tfm():
  task, model = _build()
  inputs = _batch(1)
  outputs = model(inputs, training=False)
  tfm_task = tfm_masked_lm.MaskedLMTask(task.task_config)
  want = tfm_task.build_losses(inputs, outputs, tfm_task.build_metrics())
  total, per_position = task.compute_losses(inputs, outputs,
                                            task.build_metrics())
  assert per_position.shape == (BATCH, PREDS)
  assert float(total) == pytest.approx(float(want), rel=1e-6)
  assert isinstance(task, masked_lm.MaskedLMTask)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_train_step_updates_table_once_per_id_ignoring_padding():
  task, model = _build()
  table = model.encoder_network.token_importance.table
  before = table.numpy().copy()
  inputs = _batch(2)
  losses = masked_lm.per_position_mlm_losses(
      inputs, model(inputs, training=True)).numpy()
  metrics = task.build_metrics(training=True)
  task.train_step(inputs, model, tf_keras.optimizers.SGD(0.1), metrics)
  after = table.numpy()
  np.testing.assert_allclose(after, _expected_table(before, [(inputs, losses)]),
                             rtol=1e-6)
  assert after[7] == before[7]  # only seen in a weight-0 slot
  changed = set(np.nonzero(after != before)[0])
  assert changed == set(inputs['masked_lm_ids'].numpy()[
      inputs['masked_lm_weights'].numpy() > 0])
  logs = {m.name: float(m.result()) for m in metrics}
  n_valid = BATCH * SEQ - 4
  assert logs['token_drop_kept_fraction'] == pytest.approx(
      BATCH * KEEP / n_valid)
  assert logs['token_importance_table_max'] == pytest.approx(10.0)
  assert logs['token_importance_table_min'] == pytest.approx(after.min())
  assert logs['token_importance_table_updated_fraction'] == pytest.approx(
      len(changed) / VOCAB)
  assert logs['token_importance_kept_mean'] == pytest.approx(10.0)


def test_validation_never_updates_the_table():
  task, model = _build()
  table = model.encoder_network.token_importance.table
  table.assign(tf.range(VOCAB, dtype=tf.float32))
  before = table.numpy().copy()
  logs = task.validation_step(_batch(3), model, task.build_metrics(False))
  assert np.isfinite(float(logs[task.loss]))
  np.testing.assert_array_equal(table.numpy(), before)
  assert 'token_drop_kept_positions' not in model(_batch(3), training=False)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_table_is_saved_and_restored_with_the_model(tmp_path):
  task, model = _build()
  table = model.encoder_network.token_importance.table
  table.assign(tf.random.stateless_uniform([VOCAB], seed=[5, 6]))
  path = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  _, restored = _build()
  tf.train.Checkpoint(model=restored).restore(
      path).assert_existing_objects_matched()
  np.testing.assert_array_equal(
      restored.encoder_network.token_importance.table.numpy(), table.numpy())


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_init_checkpoint_from_plain_bert_pretrainer(tmp_path):
  config = _config()
  bert_config = exp_factory.get_exp_config('bert/pretraining').task
  bert_config.model.encoder.type = 'bert_v2'
  enc = config.model.encoder.any
  bert_config.model.encoder.bert_v2.override(
      {k: getattr(enc, k) for k in (
          'vocab_size', 'hidden_size', 'num_layers', 'num_attention_heads',
          'intermediate_size', 'max_position_embeddings')})
  bert_config.model.cls_heads = []
  bert_model = tfm_masked_lm.MaskedLMTask(bert_config).build_model()
  bert_model(_batch(0))
  path = tf.train.Checkpoint(**bert_model.checkpoint_items).save(
      str(tmp_path / 'bert'))
  config.init_checkpoint = path
  task, model = _build(config)
  task.initialize(model)  # asserts every encoder/head variable matched
  np.testing.assert_array_equal(
      model.encoder_network.get_embedding_table().numpy(),
      bert_model.encoder_network.get_embedding_table().numpy())
  assert (model.encoder_network.token_importance.table.numpy() == 10.0).all()


@pytest.mark.slow  # Among the costliest of the quick tier (5-15 CPU-s).
def test_mirrored_replicas_end_each_step_with_identical_tables():
  strategy = distribute.two_cpu_mirrored_strategy()
  with strategy.scope():
    task, model = _build()
    optimizer = tf_keras.optimizers.SGD(0.1)
    metrics = task.build_metrics(training=True)
  batches = {0: _batch(10, batch=1), 1: _batch(11, batch=1)}
  before = model.encoder_network.token_importance.table.numpy().copy()
  losses = [masked_lm.per_position_mlm_losses(
      b, model(b, training=True)).numpy() for b in batches.values()]
  data = strategy.experimental_distribute_values_from_function(
      lambda ctx: batches[ctx.replica_id_in_sync_group])

  @tf.function
  def step(inputs):
    strategy.run(task.train_step, args=(inputs, model, optimizer, metrics))

  step(data)
  copies = [v.numpy() for v in strategy.experimental_local_results(
      model.encoder_network.token_importance.table)]
  np.testing.assert_array_equal(copies[0], copies[1])
  want = _expected_table(before, list(zip(batches.values(), losses)))
  np.testing.assert_allclose(copies[0], want, rtol=1e-6)


def test_keep_k_above_sequence_length_is_a_config_error():
  with pytest.raises(config_parser.ConfigError, match='token_keep_k=32'):
    task_factory.get_task(_config(keep_k=32))


def test_non_token_drop_encoder_is_a_config_error():
  config = _config()
  config.model.encoder.type = 'bert'
  with pytest.raises(config_parser.ConfigError, match='type: any'):
    token_drop_masked_lm.TokenDropMaskedLMTask(config)
  assert token_drop_bert.TokenDropBertEncoderConfig().token_keep_k == 256


def test_drop_stats_by_hand():
  stats = token_drop_masked_lm.drop_stats(
      kept=tf.constant([[0, 2], [1, 3]]),
      importance=tf.constant([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]),
      input_mask=tf.constant([[1, 1, 1, 0], [1, 1, 1, 1]]))
  values = {name: float(value) for name, (value, _) in stats.items()}
  # Row 0: kept 0 and 2 of 3 valid positions; row 1: kept 1 and 3 of 4.
  assert values['token_drop_kept_fraction'] == pytest.approx(4 / 7)
  assert values['token_importance_kept_mean'] == pytest.approx(
      (1 + 3 + 6 + 8) / 4)
  assert values['token_importance_dropped_mean'] == pytest.approx(
      (2 + 5 + 7) / 3)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_fine_tuning_task_on_token_drop_encoder_config_never_drops(tmp_path):
  """A fine-tuning task built from a token-dropping params.yaml's encoder."""
  encoder = _config(keep_k=SEQ * 2, seq_length=SEQ * 2).model.encoder
  config = sentence_prediction.SentencePredictionConfig(
      model=sentence_prediction.ModelConfig(
          encoder=encoder, num_classes=2))
  task = sentence_prediction.SentencePredictionTask(config)
  model = task.build_model()
  inputs = _batch(20)
  features = {k: inputs[k] for k in ('input_word_ids', 'input_mask',
                                     'input_type_ids')}
  features['label_ids'] = tf.constant([0, 1])
  model(features)
  # keep_k (32) exceeds the fine-tuning sequence (16): dropping would fail.
  task.train_step(features, model, tf_keras.optimizers.SGD(0.1),
                  task.build_metrics(training=True))
  encoder_network = model.checkpoint_items['encoder']
  assert isinstance(encoder_network, token_drop_bert.TokenDropBertEncoder)
  outputs = encoder_network(features, training=True)
  assert 'token_drop_kept_positions' not in outputs


def _bert_pretrainer(config):
  """tfm's BERT pretrainer with the encoder sizes of `config`."""
  bert_config = exp_factory.get_exp_config('bert/pretraining').task
  bert_config.model.encoder.type = 'bert_v2'
  enc = config.model.encoder.any
  bert_config.model.encoder.bert_v2.override(
      {k: getattr(enc, k) for k in (
          'vocab_size', 'hidden_size', 'num_layers', 'num_attention_heads',
          'intermediate_size', 'max_position_embeddings')})
  bert_config.model.cls_heads = []
  bert_model = tfm_masked_lm.MaskedLMTask(bert_config).build_model()
  bert_model(_batch(0))
  return bert_model


def _upstream_style_pretrainer(config, values, vocab=VOCAB):
  """A BERT pretrainer whose encoder holds the table as upstream's does.

  Upstream's TokenDropBertEncoder keeps BertEncoderV2's layer attributes and
  adds `_token_importance_embed`, a tfm TokenImportanceWithMovingAvg whose
  variable is `importance_embed`.
  """
  bert_model = _bert_pretrainer(config)
  layer = routing.TokenImportanceWithMovingAvg(
      vocab_size=vocab, init_importance=tf.constant(values),
      moving_average_beta=0.995)
  layer.build(None)
  bert_model.encoder_network._token_importance_embed = layer  # pylint: disable=protected-access
  return bert_model


@pytest.mark.parametrize('layout', ['checkpoint_items', 'model_dir'])
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_init_checkpoint_restores_upstream_importance_table(tmp_path, layout):
  config = _config()
  values = np.random.RandomState(7).uniform(0, 9, VOCAB).astype(np.float32)
  upstream = _upstream_style_pretrainer(config, values)
  items = upstream.checkpoint_items
  if layout == 'model_dir':  # as tfm's trainer writes it
    items = dict(items, model=upstream)
  path = tf.train.Checkpoint(**items).save(str(tmp_path / 'upstream'))
  keys = [k for k, _ in tf.train.list_variables(path)]
  assert any('_token_importance_embed/importance_embed' in k for k in keys)
  config.init_checkpoint = path
  task, model = _build(config)
  task.initialize(model)
  np.testing.assert_array_equal(
      model.encoder_network.token_importance.table.numpy(), values)
  np.testing.assert_array_equal(
      model.encoder_network.get_embedding_table().numpy(),
      upstream.encoder_network.get_embedding_table().numpy())


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_init_checkpoint_restores_this_packages_table(tmp_path):
  task, model = _build()
  values = np.random.RandomState(8).uniform(0, 9, VOCAB).astype(np.float32)
  model.encoder_network.token_importance.table.assign(values)
  tf.train.Checkpoint(model=model, **model.checkpoint_items).save(
      str(tmp_path / 'model_dir' / 'ckpt'))
  config = _config()
  config.init_checkpoint = str(tmp_path / 'model_dir')
  task, fresh = _build(config)
  task.initialize(fresh)
  np.testing.assert_array_equal(
      fresh.encoder_network.token_importance.table.numpy(), values)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_init_checkpoint_table_of_another_vocabulary_is_a_config_error(
    tmp_path):
  config = _config()
  # Upstream's layout, with a table for a larger vocabulary.
  other = _upstream_style_pretrainer(config, np.ones(VOCAB + 5, np.float32),
                                     vocab=VOCAB + 5)
  config.init_checkpoint = tf.train.Checkpoint(
      **other.checkpoint_items).save(str(tmp_path / 'other'))
  task, model = _build(config)
  with pytest.raises(config_parser.ConfigError,
                     match=r'importance table .* has shape \(45,\)'):
    task.initialize(model)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_masked_lm_step_scales_the_loss_too():
  task, model = _build()
  before = [v.numpy() for v in model.trainable_variables]
  optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
      tf_keras.optimizers.SGD(0.1), initial_scale=2.**127)
  task.train_step(_batch(1), model, optimizer,
                  task.build_metrics(training=True))
  for b, v in zip(before, model.trainable_variables):
    np.testing.assert_array_equal(v.numpy(), b)
  assert float(optimizer.loss_scale) == 2.**126
  optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
      tf_keras.optimizers.SGD(0.1), initial_scale=2.**4)
  task.train_step(_batch(1), model, optimizer,
                  task.build_metrics(training=True))
  assert any(np.abs(v.numpy() - b).max() > 1e-6
             for b, v in zip(before, model.trainable_variables))
