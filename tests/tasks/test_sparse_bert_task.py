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

"""Tests for token_drop.tasks.sparse_bert: layer distillation + pruning."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.modeling import optimization
from official.nlp.configs import encoders
from token_drop.core import config_parser
from token_drop.tasks import distillation
from token_drop.tasks import sparse_bert


def encoder(num_layers=2, hidden=16, heads=2):
  return encoders.EncoderConfig(type='bert', bert=encoders.BertEncoderConfig(
      vocab_size=40, hidden_size=hidden, num_layers=num_layers,
      num_attention_heads=heads, intermediate_size=32,
      max_position_embeddings=16, initializer_range=0.5))


def config(student_layers=2, teacher_layers=2, sparse=True, **distill):
  cls = sparse_bert.SparseBertConfig if sparse else (
      sparse_bert.DistilledSentencePredictionConfig)
  c = cls()
  c.model.num_classes = 2
  c.model.encoder = encoder(student_layers)
  c.teacher.model.num_classes = 2
  c.teacher.model.encoder = encoder(teacher_layers)
  c.teacher.allow_untrained = True
  c.distillation.override(distill)
  return c


def batch(size=4, length=8, seed=0):
  rng = np.random.default_rng(seed)
  ids = tf.constant(rng.integers(1, 40, (size, length)), tf.int32)
  mask = np.ones((size, length), np.int32)
  mask[:, length - 2:] = 0  # Some padding.
  return dict(input_word_ids=ids, input_mask=tf.constant(mask),
              input_type_ids=tf.zeros_like(ids),
              label_ids=tf.constant(rng.integers(0, 2, size), tf.int32))


def test_uniform_layer_map():
  assert distillation.uniform_layer_map(4, 12) == [3, 6, 9, 12]
  assert distillation.uniform_layer_map(3, 4) == [1, 3, 4]
  assert distillation.uniform_layer_map(2, 2) == [1, 2]
  with pytest.raises(ValueError):
    distillation.uniform_layer_map(5, 4)


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize('attention_target, logits_loss', [
    ('scores', 'soft_cross_entropy'), ('probabilities', 'kl')])
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_losses_zero_when_student_equals_teacher_and_positive_otherwise(
    attention_target, logits_loss):
  task = sparse_bert.DistilledSentencePredictionTask(config(
      sparse=False, attention_target=attention_target,
      logits_loss=logits_loss))
  student = task.build_model()
  x = batch()
  teacher_out = task._teacher_view(x, training=False)  # pylint: disable=protected-access
  view = sparse_bert.distillation_view(student, attention_target)
  different = task.distillation_losses(x, view(x, training=False),
                                       teacher_out, x['input_mask'])
  for name in ('hidden_mse', 'attention_mse', 'logits_kd'):
    assert float(different[name]) > 1e-6, name
  student.set_weights(task.teacher.get_weights())
  same = task.distillation_losses(x, view(x, training=False), teacher_out,
                                  x['input_mask'])
  for name in ('hidden_mse', 'attention_mse'):
    assert abs(float(same[name])) < 1e-6, (name, float(same[name]))
  p = _softmax(teacher_out['logits'].numpy())
  # KL is 0 for equal logits; soft cross-entropy is the teacher's entropy
  # over the 2 classes.
  floor = 0.0 if logits_loss == 'kl' else np.mean(-p * np.log(p))
  np.testing.assert_allclose(float(same['logits_kd']), floor, atol=1e-6)
  # Embedding output + 2 layers and 2 attention maps are compared.
  assert len(teacher_out['hidden']) == 3
  assert teacher_out['attention'][0].shape == (4, 2, 8, 8)


def _numpy_scores(block, hidden, mask):
  """QK^T / sqrt(d) - 10000 * (1 - mask) from the block's weights, in numpy."""
  weights = {w.name.split('/')[-2] + '/' + w.name.split('/')[-1].split(':')[0]:
             w.numpy() for w in block.weights if 'self_attention/' in w.name}
  q = np.einsum('bth,hnd->btnd', hidden, weights['query/kernel']) + weights[
      'query/bias']
  k = np.einsum('bsh,hnd->bsnd', hidden, weights['key/kernel']) + weights[
      'key/bias']
  scores = np.einsum('btnd,bsnd->bnts', q, k) / np.sqrt(q.shape[-1])
  return scores - 10000.0 * (1 - mask[:, None, None, :])


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_attention_scores_are_the_blocks_pre_softmax_scores():
  task = sparse_bert.DistilledSentencePredictionTask(config(sparse=False))
  student = task.build_model()
  x = batch()
  mask = x['input_mask'].numpy().astype(np.float32)
  scores = sparse_bert.distillation_view(student)(x, training=False)
  probs = sparse_bert.distillation_view(student, 'probabilities')(
      x, training=False)
  blocks = student.checkpoint_items['encoder'].transformer_layers
  for i, block in enumerate(blocks):
    ours = scores['attention'][i].numpy()
    expected = _numpy_scores(block, scores['hidden'][i].numpy(), mask)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-3)
    # Their softmax is what the encoder itself attends with.
    np.testing.assert_allclose(_softmax(ours.astype(np.float64)),
                               probs['attention'][i].numpy(), atol=1e-6)
  # The mask is where the reference's <= -1e2 zeroing applies.
  assert np.all(ours[..., -2:] <= -1e2) and np.all(ours[..., :-2] > -1e2)


def test_bad_distillation_choice_is_a_config_error():
  for key, value in (('attention_target', 'logits'), ('logits_loss', 'ce')):
    with pytest.raises(config_parser.ConfigError,
                       match=f"task.distillation.{key}='{value}'"):
      sparse_bert.DistilledSentencePredictionTask(
          config(sparse=False, **{key: value}))


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_default_losses_are_the_references_with_layer_map():
  # SparseBERT's task_distill (TinyBERT's): scores with entries <= -1e2
  # zeroed, MSE over every entry; soft cross-entropy over batch x classes.
  task = sparse_bert.DistilledSentencePredictionTask(
      config(student_layers=2, teacher_layers=4, sparse=False,
             temperature=2.0))
  assert task.task_config.distillation.attention_target == 'scores'
  assert task.task_config.distillation.logits_loss == 'soft_cross_entropy'
  student = task.build_model()
  x = batch()
  mask = x['input_mask'].numpy().astype(np.float32)
  t = task._teacher_view(x, training=False)  # pylint: disable=protected-access
  s = sparse_bert.distillation_view(student)(x, training=False)
  losses = task.distillation_losses(x, s, t, x['input_mask'])
  s_blocks = student.checkpoint_items['encoder'].transformer_layers
  t_blocks = task.teacher.checkpoint_items['encoder'].transformer_layers

  def zeroed(a):
    return np.where(a <= -1e2, 0.0, a)
  attention = sum(
      np.mean((zeroed(_numpy_scores(s_blocks[i], s['hidden'][i].numpy(),
                                    mask)) -
               zeroed(_numpy_scores(t_blocks[j], t['hidden'][j].numpy(),
                                    mask)))**2)
      for i, j in [(0, 1), (1, 3)])
  pt = _softmax(t['logits'].numpy() / 2)
  zs = s['logits'].numpy() / 2
  ls = zs - np.log(np.exp(zs).sum(-1, keepdims=True))
  np.testing.assert_allclose(float(losses['attention_mse']), attention,
                             rtol=1e-4)
  np.testing.assert_allclose(float(losses['logits_kd']), np.mean(-pt * ls),
                             rtol=1e-5)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_earlier_losses_as_options_with_layer_map():
  task = sparse_bert.DistilledSentencePredictionTask(
      config(student_layers=2, teacher_layers=4, sparse=False,
             temperature=2.0, attention_target='probabilities',
             logits_loss='kl'))
  student = task.build_model()
  assert task.layer_map == [2, 4]
  x = batch()
  t = task._teacher_view(x, training=False)  # pylint: disable=protected-access
  s = sparse_bert.distillation_view(student, 'probabilities')(
      x, training=False)
  losses = task.distillation_losses(x, s, t, x['input_mask'])
  m = x['input_mask'].numpy().astype(bool)
  hidden = sum(np.mean((s['hidden'][i].numpy()[m] -
                        t['hidden'][j].numpy()[m])**2)
               for i, j in [(0, 0), (1, 2), (2, 4)])
  attention = sum(
      np.mean((np.transpose(s['attention'][i].numpy(), [0, 2, 1, 3])[m] -
               np.transpose(t['attention'][j].numpy(), [0, 2, 1, 3])[m])**2)
      for i, j in [(0, 1), (1, 3)])
  zt, zs = t['logits'].numpy() / 2, s['logits'].numpy() / 2
  pt = np.exp(zt) / np.exp(zt).sum(-1, keepdims=True)
  ls = zs - np.log(np.exp(zs).sum(-1, keepdims=True))
  kl = 4 * np.mean(np.sum(pt * (np.log(pt) - ls), -1))
  np.testing.assert_allclose(float(losses['hidden_mse']), hidden, rtol=1e-4)
  np.testing.assert_allclose(float(losses['attention_mse']), attention,
                             rtol=1e-4)
  np.testing.assert_allclose(float(losses['logits_kd']), kl, rtol=1e-4,
                             atol=1e-7)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_teacher_runs_without_dropout_and_is_frozen():
  task = sparse_bert.DistilledSentencePredictionTask(config(sparse=False))
  task.build_model()
  assert not task.teacher.trainable_variables
  x = batch()
  a = task._teacher_view(x, training=False)['logits']  # pylint: disable=protected-access
  b = task._teacher_view(x, training=False)['logits']  # pylint: disable=protected-access
  np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_mismatched_teacher_is_rejected():
  c = config(sparse=False)
  c.teacher.model.encoder = encoder(hidden=24)
  with pytest.raises(ValueError, match='hidden_weight=0'):
    sparse_bert.DistilledSentencePredictionTask(c).build_model()
  c = config(sparse=False)
  c.teacher.allow_untrained = False
  c.teacher.init_checkpoint = '/nonexistent/teacher'
  with pytest.raises(distillation.TeacherCheckpointError,
                     match='/nonexistent/teacher'):
    sparse_bert.DistilledSentencePredictionTask(c).build_model()


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_teacher_restored_from_a_classifier_checkpoint(tmp_path):
  source = sparse_bert.DistilledSentencePredictionTask(config(sparse=False))
  trained = source.build_model()
  path = tf.train.Checkpoint(model=trained).save(str(tmp_path / 'ckpt'))
  c = config(sparse=False)
  c.teacher.init_checkpoint = str(tmp_path)
  c.teacher.allow_untrained = False
  task = sparse_bert.DistilledSentencePredictionTask(c)
  task.build_model()
  del path
  x = batch()
  np.testing.assert_allclose(task.teacher(x, training=False).numpy(),
                             trained(x, training=False).numpy(), atol=1e-6)


@pytest.mark.slow  # Among the costliest of the quick tier (5-15 CPU-s).
def test_sparse_bert_train_steps_prune_and_reduce_the_loss():
  c = config()
  c.pruning.override(dict(target_sparsity=0.5, end_step=4, frequency=2))
  task = sparse_bert.SparseBertTask(c)
  model = task.build_model()
  optimizer = optimization.OptimizerFactory(optimization.OptimizationConfig({
      'optimizer': {'type': 'adamw'},
      'learning_rate': {'type': 'constant',
                        'constant': {'learning_rate': 3e-3}}})
  ).build_optimizer(3e-3)
  metrics = task.build_metrics(training=True)
  step = tf.function(lambda x: task.train_step(x, model, optimizer, metrics))
  x = batch()
  losses = [float(step(x)[task.loss]) for _ in range(8)]
  assert losses[-1] < losses[0]
  by_name = {m.name: float(m.result()) for m in metrics}
  assert by_name['hidden_mse'] > 0 and by_name['logits_kd'] >= 0
  for mask in model.pruning_masks.masks:
    assert np.mean(mask.numpy() == 0) == pytest.approx(0.5)


def _losses_of(task, student, x, jit_compile):
  view = sparse_bert.distillation_view(student)

  def losses(features):
    t = task._teacher_view(features, training=False)  # pylint: disable=protected-access
    s = view(features, training=False)
    dtypes.append(s['attention'][0].dtype)
    return task.distillation_losses(features, s, t, features['input_mask'])
  dtypes = []
  return tf.function(losses, jit_compile=jit_compile)(x), dtypes[0]


# XLA compiles of a student and a teacher take seconds to minutes on a
# loaded 2-core CPU.
@pytest.mark.slow
def test_default_losses_compile_with_xla_in_mixed_bfloat16():
  x = batch()
  reference_task = sparse_bert.DistilledSentencePredictionTask(
      config(sparse=False))
  reference_student = reference_task.build_model()
  expected, dtype = _losses_of(reference_task, reference_student, x, False)
  assert dtype == tf.float32
  tf_keras.mixed_precision.set_global_policy('mixed_bfloat16')
  try:
    task = sparse_bert.DistilledSentencePredictionTask(config(sparse=False))
    student = task.build_model()
    student.set_weights(reference_student.get_weights())
    task.teacher.set_weights(reference_task.teacher.get_weights())
    jitted, dtype = _losses_of(task, student, x, True)
  finally:
    tf_keras.mixed_precision.set_global_policy('float32')
  assert dtype == tf.bfloat16
  # Same weights and batch; bfloat16 keeps 8 significant bits (measured gaps
  # 0.2-1%, the tolerance of tests/tasks/test_mixed_precision.py). The masked
  # keys (-10000 in bfloat16) are zeroed as in float32, else the score MSE
  # would be of order 1e7.
  for name in ('hidden_mse', 'attention_mse', 'logits_kd'):
    np.testing.assert_allclose(float(jitted[name]), float(expected[name]),
                               rtol=2e-2, err_msg=name)


# The distillation step under a LossScaleOptimizer (tasks/loss_scaling.py).


def _loss_scale_step(optimizer):
  task = sparse_bert.DistilledSentencePredictionTask(
      config(sparse=False, label_weight=1.0))
  tf_keras.utils.set_random_seed(3)
  model = task.build_model()
  tf_keras.utils.set_random_seed(3)
  before = [v.numpy() for v in model.trainable_variables]
  task.train_step(batch(), model, optimizer)
  return before, [v.numpy() for v in model.trainable_variables]


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_distillation_step_is_the_same_under_a_loss_scale():
  before, plain = _loss_scale_step(tf_keras.optimizers.SGD(0.1))
  before_scaled, scaled = _loss_scale_step(
      tf_keras.mixed_precision.LossScaleOptimizer(
          tf_keras.optimizers.SGD(0.1), dynamic=False, initial_scale=1024.))
  for b0, b1 in zip(before, before_scaled):
    np.testing.assert_array_equal(b0, b1)
  moved = 0
  for b, p, s in zip(before, plain, scaled):
    np.testing.assert_allclose(s, p, rtol=1e-4, atol=1e-6)
    moved += int(np.abs(p - b).max() > 1e-6)
  assert moved > len(before) // 2


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_overflowing_loss_scale_skips_the_step_and_lowers_the_scale():
  # Proves the loss is scaled before the backward pass (as in tfm's
  # train_step): scaled by 2**127 the gradients overflow, so a dynamic
  # LossScaleOptimizer skips the update and halves its scale.
  optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
      tf_keras.optimizers.SGD(0.1), initial_scale=2.**127)
  before, after = _loss_scale_step(optimizer)
  for b, a in zip(before, after):
    np.testing.assert_array_equal(a, b)
  assert float(optimizer.loss_scale) == 2.**126
