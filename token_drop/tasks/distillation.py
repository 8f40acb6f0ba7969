"""Knowledge distillation pieces shared by the methods: losses and a teacher.

The teacher is any BERT-family encoder with its heads, built from its own
config and restored from a checkpoint (a train.py model_dir or checkpoint of
this package, an imported Hugging Face model, a token-dropping run); it runs
in inference mode (no dropout) and its variables are not trainable, so they
are neither updated nor saved with the student.
"""

import dataclasses
from typing import Any, Dict, List, Optional, Sequence

from absl import logging
import tensorflow as tf
import tf_keras

from official.modeling.hyperparams import base_config
from official.nlp.configs import bert
from token_drop.core import checkpoints


@dataclasses.dataclass
class TeacherConfig(base_config.Config):
  """A frozen teacher model.

  Attributes:
    model: The teacher's encoder and heads (a BERT pretrainer config).
    init_checkpoint: Checkpoint file or directory (its latest checkpoint)
      holding the teacher's `encoder` and heads.
    allow_untrained: For smoke runs only: when `init_checkpoint` is empty or
      missing, go on with a randomly initialised teacher (with a warning)
      instead of failing.
  """
  model: bert.PretrainerConfig = dataclasses.field(
      default_factory=bert.PretrainerConfig)
  init_checkpoint: str = ''
  allow_untrained: bool = False


class TeacherCheckpointError(ValueError):
  """The teacher checkpoint is missing or does not fit the teacher config."""


def restore_frozen(teacher: tf_keras.Model, init_checkpoint: str,
                   allow_untrained: bool, layouts: Sequence[Dict[str, Any]]
                  ) -> tf_keras.Model:
  """Freezes a built teacher and restores it from the first fitting layout.

  One mechanism for every teacher (pretrainers, classifiers): `layouts` are
  the object graphs a checkpoint may have, e.g. this package's top-level
  `encoder`/`masked_lm` items, or tfm's `model=` of a plain tfm model_dir.

  Args:
    teacher: The teacher, with its variables created.
    init_checkpoint: Checkpoint prefix or directory (its latest checkpoint).
    allow_untrained: With no checkpoint, warn loudly and keep the random
      teacher instead of failing (smoke runs).
    layouts: Candidate `tf.train.Checkpoint` keyword arguments, tried in
      order; the first under which every teacher variable is found wins.

  Returns:
    The frozen teacher (call it with `training=False`).

  Raises:
    TeacherCheckpointError: no checkpoint (unless `allow_untrained`), or no
      layout fits it.
  """
  teacher.trainable = False
  path = checkpoints.find_checkpoint(init_checkpoint)
  if path is None:
    if allow_untrained:
      logging.warning(
          '\n%s\nNO TEACHER CHECKPOINT at task.teacher.init_checkpoint=%r: '
          'distilling from an UNTRAINED teacher. This is only good for smoke '
          'runs.\n%s', '!' * 78, init_checkpoint, '!' * 78)
      print(f'WARNING: no teacher checkpoint at {init_checkpoint!r}; '
            'distilling from an untrained teacher (smoke run only).')
      return teacher
    raise TeacherCheckpointError(
        f'task.teacher.init_checkpoint={init_checkpoint!r} holds no '
        'checkpoint; give a checkpoint file prefix or a model_dir.')
  errors = []
  for items in layouts:
    try:
      status = tf.train.Checkpoint(**items).read(path)
      status.expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError) as e:
      errors.append(f'as {sorted(items)}: {str(e)[:300]}')
      continue
    logging.info('Teacher restored from %s', path)
    return teacher
  raise TeacherCheckpointError(
      f'teacher checkpoint {path!r} does not fit task.teacher.model; '
      + '; '.join(errors))


def restore_teacher(teacher: tf_keras.Model,
                    config: TeacherConfig) -> tf_keras.Model:
  """Freezes a freshly built pretrainer teacher and restores its weights.

  Args:
    teacher: The teacher built from `config.model` (e.g. by the task's
      `build_model(config.model)`), with `checkpoint_items`.
    config: The teacher config.

  Returns:
    The frozen teacher (call it with `training=False`).

  Raises:
    TeacherCheckpointError: no checkpoint at `init_checkpoint` (unless
      `allow_untrained`), or the checkpoint lacks some of the teacher's
      variables.
  """
  # Create the variables so that the restore below is checked against them.
  dummy = tf.zeros([1, 8], tf.int32)
  teacher(dict(input_word_ids=dummy, input_mask=tf.ones_like(dummy),
               input_type_ids=dummy, masked_lm_positions=tf.zeros(
                   [1, 1], tf.int32)), training=False)
  # This package's checkpoints (and imports) hold the pretrainer's items at
  # the top level; a model_dir of tfm's own driver holds them under `model`.
  return restore_frozen(
      teacher, config.init_checkpoint, config.allow_untrained,
      [teacher.checkpoint_items, {'model': teacher}])


def kl_distillation_loss(teacher_logits: tf.Tensor, student_logits: tf.Tensor,
                         temperature: float,
                         weights: Optional[tf.Tensor] = None) -> tf.Tensor:
  """T^2 * KL(softmax(teacher / T) || softmax(student / T)), weighted mean.

  The T^2 factor keeps the gradient scale independent of the temperature
  (Hinton et al., 2015). KL differs from the soft cross-entropy by the
  teacher's entropy only, so the gradients are the same, and it is zero when
  the logits agree.

  Args:
    teacher_logits: [..., classes].
    student_logits: [..., classes], same shape.
    temperature: Softmax temperature T.
    weights: Optional [...] weights (e.g. masked_lm_weights); the result is
      the weighted mean over positions.

  Returns:
    A scalar loss.
  """
  teacher_logits = tf.cast(tf.stop_gradient(teacher_logits), tf.float32)
  student_logits = tf.cast(student_logits, tf.float32)
  teacher_log_probs = tf.nn.log_softmax(teacher_logits / temperature)
  student_log_probs = tf.nn.log_softmax(student_logits / temperature)
  per_position = tf.reduce_sum(
      tf.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs),
      axis=-1) * (temperature**2)
  if weights is None:
    return tf.reduce_mean(per_position)
  weights = tf.cast(weights, tf.float32)
  return tf.math.divide_no_nan(tf.reduce_sum(per_position * weights),
                               tf.reduce_sum(weights))


def uniform_layer_map(num_student_layers: int,
                      num_teacher_layers: int) -> List[int]:
  """Teacher layer (1-based) matched with each student layer, evenly spaced.

  Student layer i of L_s takes teacher layer round(i * L_t / L_s), so the last
  layers always match (TinyBERT's uniform strategy).

  Args:
    num_student_layers: L_s.
    num_teacher_layers: L_t >= L_s.

  Returns:
    L_s teacher layer numbers in 1..L_t.
  """
  if not 0 < num_student_layers <= num_teacher_layers:
    raise ValueError(
        f'a uniform layer map needs 0 < student layers ({num_student_layers})'
        f' <= teacher layers ({num_teacher_layers}).')
  return [int(round(i * num_teacher_layers / num_student_layers))
          for i in range(1, num_student_layers + 1)]


def _token_weights(input_mask: Optional[tf.Tensor], like: tf.Tensor
                  ) -> tf.Tensor:
  if input_mask is None:
    return tf.ones(tf.shape(like)[:2], tf.float32)
  return tf.cast(input_mask, tf.float32)


def hidden_mse_loss(teacher_hidden: Sequence[tf.Tensor],
                    student_hidden: Sequence[tf.Tensor],
                    input_mask: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Sum over matched pairs of the MSE between hidden states.

  Each term is the mean squared difference over the real tokens (input_mask
  1) and the hidden units; padding positions are ignored.

  Args:
    teacher_hidden: [batch, seq, hidden] tensors (e.g. the embedding output
      and the matched teacher layers).
    student_hidden: Same number of tensors, same shapes.
    input_mask: Optional [batch, seq] 0/1 mask.

  Returns:
    A scalar loss.
  """
  total = tf.constant(0.0)
  for t, s in zip(teacher_hidden, student_hidden, strict=True):
    t = tf.cast(tf.stop_gradient(t), tf.float32)
    s = tf.cast(s, tf.float32)
    weights = _token_weights(input_mask, s)
    per_token = tf.reduce_mean(tf.math.squared_difference(s, t), axis=-1)
    total += tf.math.divide_no_nan(tf.reduce_sum(per_token * weights),
                                   tf.reduce_sum(weights))
  return total


def attention_mse_loss(teacher_scores: Sequence[tf.Tensor],
                       student_scores: Sequence[tf.Tensor],
                       input_mask: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Sum over matched layers of the MSE between attention maps.

  Args:
    teacher_scores: [batch, heads, query, key] tensors.
    student_scores: Same number of tensors; when the head counts differ, both
      sides are averaged over heads first.
    input_mask: Optional [batch, seq] mask; padded queries are ignored (padded
      keys hold 0 probability on both sides).

  Returns:
    A scalar loss.
  """
  total = tf.constant(0.0)
  for t, s in zip(teacher_scores, student_scores, strict=True):
    t = tf.cast(tf.stop_gradient(t), tf.float32)
    s = tf.cast(s, tf.float32)
    if t.shape[1] != s.shape[1]:
      t = tf.reduce_mean(t, axis=1, keepdims=True)
      s = tf.reduce_mean(s, axis=1, keepdims=True)
    # [batch, query]: mean over heads and keys.
    per_query = tf.reduce_mean(tf.math.squared_difference(s, t), axis=[1, 3])
    weights = _token_weights(input_mask, per_query)
    total += tf.math.divide_no_nan(tf.reduce_sum(per_query * weights),
                                   tf.reduce_sum(weights))
  return total
