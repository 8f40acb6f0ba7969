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

"""Distillation losses, the frozen teacher, and the MLM distillation task."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.nlp.configs import bert
from official.nlp.configs import encoders
from token_drop.core import config_parser
from token_drop.data import pretrain_dataloader
from token_drop.tasks import distillation
from token_drop.tasks import mlm_distillation


def _softmax(x):
  e = np.exp(x - x.max(-1, keepdims=True))
  return e / e.sum(-1, keepdims=True)


def test_kl_is_zero_for_equal_logits():
  logits = tf.random.stateless_normal([2, 3, 11], seed=[1, 2])
  loss = distillation.kl_distillation_loss(logits, logits, temperature=2.0)
  assert abs(float(loss)) < 1e-6


def test_kl_value_and_gradient():
  temperature = 2.0
  teacher = tf.random.stateless_normal([2, 3, 7], seed=[3, 4])
  student = tf.Variable(tf.random.stateless_normal([2, 3, 7], seed=[5, 6]))
  weights = tf.constant([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
  with tf.GradientTape() as tape:
    loss = distillation.kl_distillation_loss(teacher, student, temperature,
                                             weights)
  grad = tape.gradient(loss, student).numpy()

  p = _softmax(teacher.numpy() / temperature)
  q = _softmax(student.numpy() / temperature)
  per_position = (temperature**2) * (p * (np.log(p) - np.log(q))).sum(-1)
  w = weights.numpy()
  np.testing.assert_allclose(float(loss), (per_position * w).sum() / w.sum(),
                             rtol=1e-5)
  # d/dz_s of T^2 KL at temperature T is T * (q - p), times the weight share.
  expected = temperature * (q - p) * (w / w.sum())[..., None]
  np.testing.assert_allclose(grad, expected, atol=1e-6)
  assert np.all(grad[0, 2] == 0) and np.all(grad[1, 1:] == 0)


def _log_softmax(x):
  x = x - x.max(-1, keepdims=True)
  return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_soft_cross_entropy_is_tinybert_formula_and_kl_gradient_scaled():
  temperature = 2.0
  teacher = tf.random.stateless_normal([4, 3], seed=[9, 1])
  student = tf.Variable(tf.random.stateless_normal([4, 3], seed=[9, 2]))
  with tf.GradientTape(persistent=True) as tape:
    sce = distillation.soft_cross_entropy_loss(teacher, student, temperature)
    kl = distillation.kl_distillation_loss(teacher, student, temperature)
  p = _softmax(teacher.numpy() / temperature)
  log_q = _log_softmax(student.numpy() / temperature)
  # TinyBERT's soft_cross_entropy: (-p * log q).mean() over batch x classes.
  np.testing.assert_allclose(float(sce), np.mean(-p * log_q), rtol=1e-6)
  # It differs from KL by the teacher's entropy, over C classes, no T^2 ...
  entropy = -(p * np.log(p)).sum(-1).mean()
  np.testing.assert_allclose(float(sce), (float(kl) / temperature**2
                                          + entropy) / 3, rtol=1e-5)
  # ... so KL's gradient is C * T^2 = 12 times larger, same direction.
  np.testing.assert_allclose(tape.gradient(kl, student).numpy(),
                             12 * tape.gradient(sce, student).numpy(),
                             rtol=1e-4, atol=1e-7)


def _bort_reference(teacher, student, temperature, weights):
  """MXNet KLDivLoss(from_logits=False)(softmax(z_s/T), softmax(z_t/T), w).

  from_logits=False: MXNet takes log_softmax of the prediction, here already
  probabilities; the loss is label * (log(label + 1e-12) - pred), weighted,
  averaged over the last axis; Bort sums it, divides by the mask count + 1e-8
  and multiplies by T^2.
  """
  teacher, student = teacher.astype(np.float64), student.astype(np.float64)
  label = _softmax(teacher / temperature)
  pred = _log_softmax(_softmax(student / temperature))
  per_row = (label * (np.log(label + 1e-12) - pred) * weights[..., None]
             ).mean(-1)
  return temperature**2 * per_row.sum() / (weights.sum() + 1e-8)


def test_bort_kldiv_matches_bort_code():
  teacher = tf.random.stateless_normal([2, 3, 7], seed=[3, 4]) * 3
  student = tf.random.stateless_normal([2, 3, 7], seed=[5, 6]) * 3
  weights = tf.constant([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
  loss = distillation.bort_kldiv_loss(teacher, student, 2.0, weights)
  np.testing.assert_allclose(
      float(loss), _bort_reference(teacher.numpy(), student.numpy(), 2.0,
                                   weights.numpy()), rtol=1e-5)


def test_bort_kldiv_is_nearly_inert_on_a_bert_vocabulary():
  # BERT's vocabulary; teacher logits spread like a trained MLM head's.
  teacher = tf.random.stateless_normal([2, 4, 30522], seed=[1, 1]) * 4
  student = tf.Variable(
      tf.random.stateless_normal([2, 4, 30522], seed=[2, 2]) * 4)
  weights = tf.ones([2, 4])
  with tf.GradientTape(persistent=True) as tape:
    bort = distillation.bort_kldiv_loss(teacher, student, 2.0, weights)
    kl = distillation.kl_distillation_loss(teacher, student, 2.0, weights)
  bort_grad = np.abs(tape.gradient(bort, student).numpy()).max()
  kl_grad = np.abs(tape.gradient(kl, student).numpy()).max()
  assert 1e-5 < float(bort) < 2e-3, float(bort)
  assert float(kl) > 1.0
  assert bort_grad < 1e-6 * kl_grad, (bort_grad, kl_grad)


def _tiny_pretrainer_config(hidden=32, dropout=0.0):
  return bert.PretrainerConfig(
      encoder=encoders.EncoderConfig(
          type='bert', bert=encoders.BertEncoderConfig(
          vocab_size=50, hidden_size=hidden, num_layers=2,
          num_attention_heads=2, intermediate_size=64,
          max_position_embeddings=32, dropout_rate=dropout,
          attention_dropout_rate=dropout)),
      cls_heads=[])


def _task(teacher_checkpoint='', teacher_hidden=32, allow_untrained=False,
          teacher_dropout=0.0, teacher_loss='bort_kldiv'):
  config = mlm_distillation.MLMDistillationConfig(
      model=_tiny_pretrainer_config(),
      teacher=distillation.TeacherConfig(
          model=_tiny_pretrainer_config(teacher_hidden, teacher_dropout),
          init_checkpoint=teacher_checkpoint,
          allow_untrained=allow_untrained),
      temperature=2.0, teacher_weight=0.5, mlm_weight=0.1,
      teacher_loss=teacher_loss,
      train_data=pretrain_dataloader.PretrainDataConfig(
          use_next_sentence_label=False))
  return mlm_distillation.MLMDistillationTask(config)


def _inputs():
  ids = tf.random.stateless_uniform([2, 16], seed=[7, 8], maxval=50,
                                    dtype=tf.int32)
  return dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
              input_type_ids=tf.zeros_like(ids),
              masked_lm_positions=tf.constant([[1, 2, 0], [3, 0, 0]]),
              masked_lm_ids=tf.constant([[5, 6, 0], [7, 0, 0]]),
              masked_lm_weights=tf.constant([[1.0, 1.0, 0.0],
                                             [1.0, 0.0, 0.0]]))


def _save_student(task, path):
  student = task.build_model()
  student(_inputs())
  return student, tf.train.Checkpoint(**student.checkpoint_items).write(path)


def test_missing_teacher_checkpoint_is_an_error(tmp_path):
  with pytest.raises(distillation.TeacherCheckpointError,
                     match='no_such_dir'):
    _task(str(tmp_path / 'no_such_dir')).build_model()


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_untrained_teacher_only_when_allowed(tmp_path):
  task = _task(str(tmp_path / 'none'), allow_untrained=True)
  task.build_model()
  assert task.teacher is not None
  assert not task.teacher.trainable_variables


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_teacher_checkpoint_of_other_shape_is_an_error(tmp_path):
  _, path = _save_student(_task(allow_untrained=True), str(tmp_path / 'c'))
  with pytest.raises(distillation.TeacherCheckpointError,
                     match='does not fit task.teacher.model'):
    _task(path, teacher_hidden=48).build_model()


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_teacher_from_a_tfm_model_dir_layout(tmp_path):
  # tfm's own driver saves the pretrainer under `model`, not at the top.
  source = _task(allow_untrained=True).build_model()
  source(_inputs())
  path = tf.train.Checkpoint(model=source).write(str(tmp_path / 'tfm'))
  task = _task(path)
  task.build_model()
  inputs = _inputs()
  np.testing.assert_allclose(
      task.teacher(inputs, training=False)['mlm_logits'],
      source(inputs, training=False)['mlm_logits'], atol=1e-6)


def test_bad_teacher_loss_is_a_config_error():
  with pytest.raises(config_parser.ConfigError,
                     match="task.teacher_loss='kld'.*bort_kldiv, kl"):
    _task(allow_untrained=True, teacher_loss='kld')


def test_default_teacher_term_is_bort_code_on_the_masked_slots(tmp_path):
  task = _task(allow_untrained=True)
  assert task.task_config.teacher_loss == 'bort_kldiv'
  student = task.build_model()
  inputs = _inputs()
  metrics = task.build_metrics(training=True)
  outputs = student(inputs, training=False)
  total, lm_losses = task.compute_losses(inputs, outputs, metrics)
  w = inputs['masked_lm_weights'].numpy()
  expected_kd = _bort_reference(
      task.teacher(inputs, training=False)['mlm_logits'].numpy(),
      outputs['mlm_logits'].numpy(), 2.0, w)
  by_name = {m.name: m for m in metrics}
  # The term is a difference of two logs of about -log(50) each, taken in
  # float32: a few 1e-9 of absolute rounding on a value of about 1e-4.
  np.testing.assert_allclose(float(by_name['distillation_loss'].result()),
                             expected_kd, rtol=1e-4, atol=1e-8)
  mlm = float(tf.reduce_sum(lm_losses * w) / w.sum())
  np.testing.assert_allclose(float(total), 0.1 * mlm + 0.5 * expected_kd,
                             rtol=1e-5)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_student_equal_to_teacher_has_zero_distillation_loss(tmp_path):
  source, path = _save_student(_task(allow_untrained=True),
                               str(tmp_path / 'c'))
  task = _task(path, teacher_loss='kl')
  student = task.build_model()
  student(_inputs())
  student.set_weights(source.get_weights())
  inputs = _inputs()
  metrics = task.build_metrics(training=True)
  outputs = student(inputs, training=False)
  total, lm_losses = task.compute_losses(inputs, outputs, metrics)
  by_name = {m.name: m for m in metrics}
  assert abs(float(by_name['distillation_loss'].result())) < 1e-6
  w = inputs['masked_lm_weights']
  mlm = float(tf.reduce_sum(lm_losses * w) / tf.reduce_sum(w))
  np.testing.assert_allclose(float(total), 0.1 * mlm, rtol=1e-5)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_teacher_runs_in_inference_mode(tmp_path):
  _, path = _save_student(_task(allow_untrained=True), str(tmp_path / 'c'))
  task = _task(path, teacher_dropout=0.5)
  student = task.build_model()
  inputs = _inputs()
  outputs = student(inputs, training=False)
  # Inside a training call context a teacher left to the default would drop
  # units (shown first); the task must still run it without dropout.
  with tf_keras.backend.learning_phase_scope(1):
    default = [task.teacher(inputs)['mlm_logits'] for _ in range(2)]
    assert np.abs(default[0] - default[1]).max() > 1e-3
    losses = []
    for _ in range(2):
      metrics = task.build_metrics(training=True)
      losses.append(float(task.compute_losses(inputs, outputs, metrics)[0]))
  assert losses[0] == losses[1]
