"""Tests for token_drop.tasks.loss_scaling in the package's train steps."""

import numpy as np
import tensorflow as tf
import tf_keras

from token_drop.tasks import loss_scaling
from token_drop.tasks import sparse_bert
from tasks import test_sparse_bert_task as sparse_tests
from tasks import test_token_drop_task as token_drop_tests


def _one_step(optimizer):
  task = sparse_bert.DistilledSentencePredictionTask(
      sparse_tests.config(sparse=False, label_weight=1.0))
  tf_keras.utils.set_random_seed(3)
  model = task.build_model()
  tf_keras.utils.set_random_seed(3)
  before = [v.numpy() for v in model.trainable_variables]
  task.train_step(sparse_tests.batch(), model, optimizer)
  return before, [v.numpy() for v in model.trainable_variables]


def test_distillation_step_is_the_same_under_a_loss_scale():
  before, plain = _one_step(tf_keras.optimizers.SGD(0.1))
  before_scaled, scaled = _one_step(
      tf_keras.mixed_precision.LossScaleOptimizer(
          tf_keras.optimizers.SGD(0.1), dynamic=False, initial_scale=1024.))
  for b0, b1 in zip(before, before_scaled):
    np.testing.assert_array_equal(b0, b1)
  moved = 0
  for b, p, s in zip(before, plain, scaled):
    np.testing.assert_allclose(s, p, rtol=1e-4, atol=1e-6)
    moved += int(np.abs(p - b).max() > 1e-6)
  assert moved > len(before) // 2


def test_scale_and_unscale():
  optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
      tf_keras.optimizers.SGD(0.1), dynamic=False, initial_scale=8.)
  loss = tf.constant(3.0)
  assert float(loss_scaling.scale_loss(loss, optimizer)) == 24.0
  assert float(loss_scaling.scale_loss(loss, tf_keras.optimizers.SGD())) == 3.0
  (grad,) = loss_scaling.unscale_gradients([tf.constant(16.0)], optimizer)
  assert float(grad) == 2.0


def test_overflowing_loss_scale_skips_the_step_and_lowers_the_scale():
  # Proves the loss is scaled before the backward pass (as in tfm's
  # train_step): scaled by 2**127 the gradients overflow, so a dynamic
  # LossScaleOptimizer skips the update and halves its scale.
  optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
      tf_keras.optimizers.SGD(0.1), initial_scale=2.**127)
  before, after = _one_step(optimizer)
  for b, a in zip(before, after):
    np.testing.assert_array_equal(a, b)
  assert float(optimizer.loss_scale) == 2.**126


def test_masked_lm_step_scales_the_loss_too():
  task, model = token_drop_tests._build()  # pylint: disable=protected-access
  before = [v.numpy() for v in model.trainable_variables]
  optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
      tf_keras.optimizers.SGD(0.1), initial_scale=2.**127)
  task.train_step(token_drop_tests._batch(1), model, optimizer,  # pylint: disable=protected-access
                  task.build_metrics(training=True))
  for b, v in zip(before, model.trainable_variables):
    np.testing.assert_array_equal(v.numpy(), b)
  assert float(optimizer.loss_scale) == 2.**126
  optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
      tf_keras.optimizers.SGD(0.1), initial_scale=2.**4)
  task.train_step(token_drop_tests._batch(1), model, optimizer,  # pylint: disable=protected-access
                  task.build_metrics(training=True))
  assert any(np.abs(v.numpy() - b).max() > 1e-6
             for b, v in zip(before, model.trainable_variables))
