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

"""Knowledge distillation pieces shared by the methods: losses and a teacher.

The teacher is any BERT-family encoder with its heads, built from its own
config and restored from a checkpoint (a train.py model_dir or checkpoint of
this package, an imported Hugging Face model, a token-dropping run); it runs
in inference mode (no dropout) and its variables are not trainable, so they
are neither updated nor saved with the student.
"""

import dataclasses
import math
from typing import Any, Dict, List, Optional, Sequence

from absl import logging
import tensorflow as tf
import tf_keras

from official.modeling.hyperparams import base_config
from official.nlp.configs import bert
from token_drop import compat
from token_drop.core import checkpoints
from token_drop.core import errors


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


class TeacherCheckpointError(errors.UserError):
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

  The KL is summed over the classes and averaged over positions (weighted);
  the T^2 factor keeps the gradient scale independent of the temperature
  (Hinton et al., 2015). It is 0 when the logits agree. Its gradient with
  respect to the student logits is T * (q - p) per position (q, p the
  student's and teacher's softmax at T), i.e. C * T^2 times the gradient of
  `soft_cross_entropy_loss` (C classes, same positions): the two differ in
  value by the teacher's entropy, which is constant in the student.

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


def soft_cross_entropy_loss(teacher_logits: tf.Tensor,
                            student_logits: tf.Tensor,
                            temperature: float) -> tf.Tensor:
  """mean(-softmax(teacher / T) * log_softmax(student / T)) (TinyBERT).

  The logits term of TinyBERT's and SparseBERT's task distillation
  (`soft_cross_entropy` of their task_distill.py): averaged over every
  position AND class, with no T^2 factor. It equals (KL + H(teacher)) / C for
  C classes, so its gradient is that of `kl_distillation_loss` divided by
  C * T^2; it is not 0 when the logits agree (it is the teacher's entropy
  / C then).

  Args:
    teacher_logits: [..., classes].
    student_logits: [..., classes], same shape.
    temperature: Softmax temperature T (both logits are divided by it).

  Returns:
    A scalar loss.
  """
  teacher_logits = tf.cast(tf.stop_gradient(teacher_logits), tf.float32)
  student_logits = tf.cast(student_logits, tf.float32)
  teacher_probs = tf.nn.softmax(teacher_logits / temperature)
  student_log_probs = tf.nn.log_softmax(student_logits / temperature)
  return tf.reduce_mean(-teacher_probs * student_log_probs)


def bort_kldiv_loss(teacher_logits: tf.Tensor, student_logits: tf.Tensor,
                    temperature: float, weights: tf.Tensor) -> tf.Tensor:
  """The distillation term exactly as Bort's released code computes it.

  alexa/bort (utils/pretraining_distillation_utils.py) calls MXNet's
  `KLDivLoss(from_logits=False)` with the student's softmax(z_s / T) as
  prediction and the teacher's softmax(z_t / T) as label. With
  `from_logits=False` MXNet applies log_softmax to the prediction, so the
  term compares the teacher's distribution with log_softmax of the student's
  *probabilities* (almost uniform over the vocabulary), averages over the
  vocabulary instead of summing, and is scaled by T^2 / (number of masks):

    T^2 * sum_i w_i * mean_v p_t (log(p_t + 1e-12) - log_softmax(p_s))
        / (sum_i w_i + 1e-8).

  Its value is about (log V - H(p_t)) T^2 / V and its gradient reaches the
  student logits only through p_s, scaled by 1 / V: the term is almost
  constant (about 1e-4 with gradients about 1e-10 for V = 30522, T = 2), so
  Bort was in effect trained on its MLM term alone (`kl_distillation_loss`
  is the distillation it meant).

  Args:
    teacher_logits: [..., vocab].
    student_logits: [..., vocab], same shape.
    temperature: Softmax temperature T.
    weights: [...] weights of the positions (masked_lm_weights).

  Returns:
    A scalar loss.
  """
  teacher_logits = tf.cast(tf.stop_gradient(teacher_logits), tf.float32)
  student_logits = tf.cast(student_logits, tf.float32)
  teacher_probs = tf.nn.softmax(teacher_logits / temperature)
  student_probs = tf.nn.softmax(student_logits / temperature)
  per_position = tf.reduce_mean(
      teacher_probs * (tf.math.log(teacher_probs + 1e-12) -
                       tf.nn.log_softmax(student_probs)), axis=-1)
  weights = tf.cast(weights, tf.float32)
  return (temperature**2) * tf.reduce_sum(per_position * weights) / (
      tf.reduce_sum(weights) + 1e-8)


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
  """Sum over matched layers of the MSE between attention probabilities.

  This package's earlier attention term (`attention_target: probabilities`):
  for each real query, the mean over heads and keys of the squared
  difference of the softmax outputs; the mean over real queries. Probabilities
  lie in [0, 1] and mostly near 0, so at weight 1 this term is small next to
  the hidden-state MSE; `attention_score_mse_loss` is the reference's.

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


# BERT's additive attention mask (TinyBERT's modeling.py, -10000 on padded
# keys); TinyBERT's attention loss zeroes every entry at or below -1e2.
_ADDITIVE_MASK = -10000.0
_SCORE_FLOOR = -1e2


def attention_logits(block: tf_keras.layers.Layer, layer_input: tf.Tensor,
                     input_mask: Optional[tf.Tensor] = None) -> tf.Tensor:
  """Pre-softmax attention scores of one tfm TransformerEncoderBlock.

  Returns QK^T / sqrt(d) + mask, where the mask adds -10000 on padded keys as
  TinyBERT's (and SparseBERT's) BERT does, recomputed from the block's input
  with the block's own query and key projections (the same arithmetic, in the
  same dtype, as inside the block; under XLA the duplicate projections are
  merged with the block's).

  Why private attributes: tfm's TransformerEncoderBlock and tf_keras'
  MultiHeadAttention only return the attention *probabilities*
  (`return_attention_scores` gives the softmax output); there is no public
  way to get the scores or the query/key projections, which are read through
  `token_drop.compat`.

  Args:
    block: A TransformerEncoderBlock (e.g. `encoder.transformer_layers[i]`)
      with its default attention (tf_keras MultiHeadAttention, full output
      range).
    layer_input: [batch, seq, hidden], the block's input (the embedding
      output for the first block, else the previous block's output).
    input_mask: Optional [batch, seq] 0/1 mask of the keys.

  Returns:
    [batch, heads, query, key] scores in the block's compute dtype.
  """
  parts = compat.block_sublayers(block)
  attention = parts.attention
  if not isinstance(attention, tf_keras.layers.MultiHeadAttention):
    raise ValueError(
        f'attention scores need tf_keras MultiHeadAttention, got '
        f'{type(attention).__name__} in {block.name}.')
  x = parts.attention_norm(layer_input) if parts.norm_first else layer_input
  projections = compat.attention_sublayers(attention)
  query = projections.query(x)  # [batch, query, heads, dim]
  key = projections.key(x)  # [batch, key, heads, dim]
  # Scaled before the product, as MultiHeadAttention._compute_attention does.
  query = tf.multiply(query, 1.0 / math.sqrt(float(projections.key_dim)))
  scores = tf.einsum('bsnh,btnh->bnts', key, query)
  if input_mask is not None:
    padded = 1.0 - tf.cast(input_mask, scores.dtype)
    scores += padded[:, tf.newaxis, tf.newaxis, :] * tf.cast(
        _ADDITIVE_MASK, scores.dtype)
  return scores


def attention_score_mse_loss(teacher_scores: Sequence[tf.Tensor],
                             student_scores: Sequence[tf.Tensor]
                            ) -> tf.Tensor:
  """Sum over matched layers of TinyBERT's attention-score MSE.

  As TinyBERT's and SparseBERT's task_distill.py: entries <= -1e2 (the masked
  keys, which carry -10000) are replaced by 0 on both sides, then the mean
  squared difference over every [batch, heads, query, key] entry, padded
  queries included. When the head counts differ, both sides are averaged over
  heads first (the reference needs equal counts).

  Args:
    teacher_scores: [batch, heads, query, key] pre-softmax scores with the
      additive mask (`attention_logits`).
    student_scores: Same number of tensors.

  Returns:
    A scalar loss.
  """
  total = tf.constant(0.0)
  for t, s in zip(teacher_scores, student_scores, strict=True):
    t = tf.cast(tf.stop_gradient(t), tf.float32)
    s = tf.cast(s, tf.float32)
    t = tf.where(t <= _SCORE_FLOOR, tf.zeros_like(t), t)
    s = tf.where(s <= _SCORE_FLOOR, tf.zeros_like(s), s)
    if t.shape[1] != s.shape[1]:
      t = tf.reduce_mean(t, axis=1, keepdims=True)
      s = tf.reduce_mean(s, axis=1, keepdims=True)
    total += tf.reduce_mean(tf.math.squared_difference(s, t))
  return total
