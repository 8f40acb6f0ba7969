"""Tests for token_drop.tasks.sparse_bert: layer distillation + pruning."""

import numpy as np
import pytest
import tensorflow as tf

from official.modeling import optimization
from official.nlp.configs import encoders
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


def test_losses_zero_when_student_equals_teacher_and_positive_otherwise():
  task = sparse_bert.DistilledSentencePredictionTask(config(sparse=False))
  student = task.build_model()
  x = batch()
  teacher_out = task._teacher_view(x, training=False)  # pylint: disable=protected-access
  view = sparse_bert.distillation_view(student)
  different = task.distillation_losses(x, view(x, training=False),
                                       teacher_out, x['input_mask'])
  for name in ('hidden_mse', 'attention_mse', 'logits_kd'):
    assert float(different[name]) > 1e-6, name
  student.set_weights(task.teacher.get_weights())
  same = task.distillation_losses(x, view(x, training=False), teacher_out,
                                  x['input_mask'])
  for name in ('hidden_mse', 'attention_mse', 'logits_kd'):
    assert abs(float(same[name])) < 1e-6, (name, float(same[name]))
  # Embedding output + 2 layers and 2 attention maps are compared.
  assert len(teacher_out['hidden']) == 3
  assert teacher_out['attention'][0].shape == (4, 2, 8, 8)


def test_losses_match_independent_computation_with_layer_map():
  task = sparse_bert.DistilledSentencePredictionTask(
      config(student_layers=2, teacher_layers=4, sparse=False,
             temperature=2.0))
  student = task.build_model()
  assert task.layer_map == [2, 4]
  x = batch()
  t = task._teacher_view(x, training=False)  # pylint: disable=protected-access
  s = sparse_bert.distillation_view(student)(x, training=False)
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


def test_teacher_runs_without_dropout_and_is_frozen():
  task = sparse_bert.DistilledSentencePredictionTask(config(sparse=False))
  task.build_model()
  assert not task.teacher.trainable_variables
  x = batch()
  a = task._teacher_view(x, training=False)['logits']  # pylint: disable=protected-access
  b = task._teacher_view(x, training=False)['logits']  # pylint: disable=protected-access
  np.testing.assert_array_equal(a.numpy(), b.numpy())


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
