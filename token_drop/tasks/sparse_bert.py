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

"""SparseBERT (Xu et al., NAACL 2021): fine-tune, prune and distill at once.

The student starts from a pretrained BERT (`task.init_checkpoint`), is pruned
by `token_drop.tasks.pruning` while it is fine-tuned, and learns from a
fine-tuned classifier teacher (`task.teacher`, built from its own config and
restored from its own checkpoint, run with `training=False`, i.e. without the
dropout the reference implementation leaves on). The loss is

  hidden_weight    * sum_l MSE(h_s[l], h_t[map(l)])   (embeddings + layers)
+ attention_weight * sum_l MSE(A_s[l], A_t[map(l)])   (attention maps)
+ logits_weight    * L_logits(z_t, z_s, T)
+ label_weight     * CE(labels, z_s)                  (0 in the paper)

By default the terms are those of the reference code (SparseBERT's
task_distill, built on TinyBERT's):

* `attention_target: scores`: A are the pre-softmax scores QK^T/sqrt(d)
  plus BERT's -10000 mask, entries <= -1e2 set to 0, MSE over every
  [batch, head, query, key] entry (`distillation.attention_score_mse_loss`).
  `probabilities` is this package's earlier term: MSE of the softmax outputs
  over real queries (`distillation.attention_mse_loss`), far smaller at
  weight 1.
* `logits_loss: soft_cross_entropy`: mean over batch x classes of
  -softmax(z_t/T) log_softmax(z_s/T), no T^2
  (`distillation.soft_cross_entropy_loss`). `kl` is this package's earlier
  T^2 KL summed over classes (`distillation.kl_distillation_loss`): the same
  gradients times num_classes * T^2, and 0 when student and teacher agree.

The hidden-state MSE ignores padded positions (the reference averages over
them too). `map` is `distillation.uniform_layer_map` unless `layer_map`
lists a teacher layer per student layer, so students with fewer layers
(Bort-like) work.

Per-layer outputs come from tfm's own BertEncoderV2 switches: the task builds
both classifiers (`token_drop.models.layer_output_classifier`) with
`return_word_embeddings` (embedding output) and `return_attention_scores` (each
TransformerEncoderBlock returns the attention probabilities of its
MultiHeadAttention, i.e. softmax(QK^T/sqrt(d)) before dropout) on a copy of the
encoder config; these switches add no variables, so checkpoints and params.yaml
are unchanged. A second Keras view of the same classifier graph returns logits,
hidden states and attention maps in one forward pass; the pre-softmax scores
are recomputed from each block's input (`distillation.attention_logits`), as
tfm returns only probabilities.
"""

import dataclasses
from typing import Any, Callable, Dict, List, Optional

import tensorflow as tf
import tf_keras

from official.core import task_factory
from official.modeling.hyperparams import base_config
from official.nlp.tasks import sentence_prediction
from token_drop.core import config_parser
from token_drop.layers import pruning as pruning_lib
from token_drop.models import layer_output_classifier
from token_drop.tasks import distillation
from token_drop.tasks import loss_scaling
from token_drop.tasks import pruning as pruning_tasks
from token_drop.tasks import sentence_prediction as classifier_tasks


@dataclasses.dataclass
class ClassifierTeacherConfig(base_config.Config):
  """A frozen fine-tuned classifier teacher.

  Attributes:
    model: The teacher's encoder and classifier (as a sentence prediction
      task's `model`).
    init_checkpoint: A fine-tuning model_dir or checkpoint holding the whole
      classifier (`model` item, as train.py saves it).
    allow_untrained: For smoke runs only: go on with a random teacher (with a
      loud warning) when `init_checkpoint` holds no checkpoint.
  """
  model: sentence_prediction.ModelConfig = dataclasses.field(
      default_factory=sentence_prediction.ModelConfig)
  init_checkpoint: str = ''
  allow_untrained: bool = False


# Choices of LayerDistillationConfig; the first is the reference's.
ATTENTION_TARGETS = ('scores', 'probabilities')
LOGITS_LOSSES = ('soft_cross_entropy', 'kl')


@dataclasses.dataclass
class LayerDistillationConfig(base_config.Config):
  """Weights and settings of the SparseBERT distillation loss.

  Attributes:
    hidden_weight: Weight of the summed hidden-state MSEs.
    attention_weight: Weight of the summed attention-map MSEs.
    logits_weight: Weight of the logits term.
    label_weight: Weight of the cross-entropy with the labels.
    temperature: Softmax temperature T of the logits term.
    layer_map: Teacher layer (1-based) for each student layer; empty =
      uniform.
    attention_target: `scores` (the reference: pre-softmax scores, masked
      entries zeroed, MSE over all entries) or `probabilities` (this
      package's earlier term: softmax outputs, real queries only).
    logits_loss: `soft_cross_entropy` (the reference: mean over batch x
      classes, no T^2) or `kl` (T^2 KL summed over classes, mean over the
      batch: gradients num_classes * T^2 times larger).
  """
  hidden_weight: float = 1.0
  attention_weight: float = 1.0
  logits_weight: float = 1.0
  label_weight: float = 0.0
  temperature: float = 1.0
  layer_map: List[int] = dataclasses.field(default_factory=list)
  attention_target: str = 'scores'
  logits_loss: str = 'soft_cross_entropy'

  def check(self):
    """Raises config_parser.ConfigError naming a bad choice."""
    for key, choices in (('attention_target', ATTENTION_TARGETS),
                         ('logits_loss', LOGITS_LOSSES)):
      if getattr(self, key) not in choices:
        raise config_parser.ConfigError(
            f'task.distillation.{key}={getattr(self, key)!r}: expected one '
            f'of {", ".join(choices)}.')


@dataclasses.dataclass
class DistilledSentencePredictionConfig(
    classifier_tasks.SentencePredictionConfig):
  """Sentence prediction distilled from a frozen classifier teacher."""
  teacher: ClassifierTeacherConfig = dataclasses.field(
      default_factory=ClassifierTeacherConfig)
  distillation: LayerDistillationConfig = dataclasses.field(
      default_factory=LayerDistillationConfig)


@dataclasses.dataclass
class SparseBertConfig(DistilledSentencePredictionConfig):
  """Distilled sentence prediction with SparseBERT weight pruning."""
  pruning: pruning_lib.PruningConfig = dataclasses.field(
      default_factory=pruning_lib.PruningConfig)


def distillation_view(classifier: tf_keras.Model,
                      attention_target: str = 'scores'
                     ) -> Callable[..., Dict[str, Any]]:
  """Same layers as `classifier`; returns logits, hidden states, attention.

  Args:
    classifier: A classifier from
      `layer_output_classifier.build_classifier`.
    attention_target: `scores` (pre-softmax, with the additive mask) or
      `probabilities` (what the encoder returns).

  Returns:
    A callable `(features, training) -> dict(logits, hidden, attention)`;
    `hidden` holds the embedding output and every layer's output, `attention`
    one [batch, heads, query, key] map per layer.
  """
  encoder = classifier.checkpoint_items['encoder']
  out = encoder.output
  view = tf_keras.Model(
      classifier.inputs,
      dict(logits=classifier.outputs[0],
           hidden=[out['word_embeddings']] + list(out['encoder_outputs']),
           attention=list(out['attention_scores'])))
  if attention_target == 'probabilities':
    return view
  blocks = list(encoder.transformer_layers)

  def with_scores(features, training=None):
    outputs = view(features, training=training)
    # Block i reads hidden[i]: the embedding output, then each block's output.
    scores = [distillation.attention_logits(block, hidden,
                                            features.get('input_mask'))
              for block, hidden in zip(blocks, outputs['hidden'][:-1])]
    return dict(outputs, attention=scores)

  return with_scores


def restore_classifier_teacher(teacher: tf_keras.Model,
                               config: ClassifierTeacherConfig
                              ) -> tf_keras.Model:
  """Freezes the teacher and restores it from its fine-tuning checkpoint."""
  return distillation.restore_frozen(
      teacher, config.init_checkpoint, config.allow_untrained,
      [{'model': teacher}])


_LOSS_METRICS = ('hidden_mse', 'attention_mse', 'logits_kd', 'label_loss')


@task_factory.register_task_cls(DistilledSentencePredictionConfig)
class DistilledSentencePredictionTask(
    classifier_tasks.SentencePredictionTask):
  """Sentence prediction trained on a teacher's layers, attention and logits."""

  def __init__(self, params, logging_dir=None, name=None):
    params.distillation.check()
    super().__init__(params, logging_dir=logging_dir, name=name)
    self._teacher = None
    self._teacher_view = None
    self._views: Dict[int, Callable[..., Dict[str, Any]]] = {}
    self._layer_map: Optional[List[int]] = None

  @property
  def teacher(self) -> Optional[tf_keras.Model]:
    return self._teacher

  @property
  def layer_map(self) -> Optional[List[int]]:
    return self._layer_map

  def build_model(self):
    if self.task_config.hub_module_url:
      raise ValueError('task.hub_module_url is not supported by distillation;'
                       ' use task.init_checkpoint.')
    attention_target = self.task_config.distillation.attention_target
    student = layer_output_classifier.build_classifier(self.task_config.model)
    self._views[id(student)] = distillation_view(student, attention_target)
    if self._teacher is None:
      teacher_config = self.task_config.teacher
      self._teacher = restore_classifier_teacher(
          layer_output_classifier.build_classifier(teacher_config.model),
          teacher_config)
      self._teacher_view = distillation_view(self._teacher, attention_target)
    self._layer_map = self._check_shapes()
    return student

  def _check_shapes(self) -> List[int]:
    """Checks teacher vs student; returns each student layer's teacher layer."""
    config = self.task_config
    s_enc = config.model.encoder.get()
    t_enc = config.teacher.model.encoder.get()
    if config.model.num_classes != config.teacher.model.num_classes:
      raise ValueError(
          f'task.teacher.model.num_classes={config.teacher.model.num_classes}'
          f' differs from task.model.num_classes={config.model.num_classes}.')
    if (config.distillation.hidden_weight and
        s_enc.hidden_size != t_enc.hidden_size):
      raise ValueError(
          f'hidden-state distillation needs equal hidden sizes: student '
          f'{s_enc.hidden_size}, teacher {t_enc.hidden_size}; set '
          'task.distillation.hidden_weight=0.')
    layer_map = list(config.distillation.layer_map)
    if not layer_map:
      layer_map = distillation.uniform_layer_map(s_enc.num_layers,
                                                 t_enc.num_layers)
    if len(layer_map) != s_enc.num_layers or not all(
        1 <= l <= t_enc.num_layers for l in layer_map):
      raise ValueError(
          f'task.distillation.layer_map={layer_map!r}: expected '
          f'{s_enc.num_layers} teacher layers in 1..{t_enc.num_layers}.')
    return layer_map

  def build_metrics(self, training=None):
    metrics = super().build_metrics(training)
    if training:
      metrics += [tf_keras.metrics.Mean(name=n) for n in _LOSS_METRICS]
    return metrics

  def distillation_losses(self, labels, student_out, teacher_out,
                          input_mask) -> Dict[str, tf.Tensor]:
    """The four loss terms (unweighted) of one batch."""
    config = self.task_config.distillation
    mapped_hidden = [teacher_out['hidden'][0]] + [
        teacher_out['hidden'][l] for l in self._layer_map]
    mapped_attention = [teacher_out['attention'][l - 1]
                        for l in self._layer_map]
    if config.attention_target == 'scores':
      attention_mse = distillation.attention_score_mse_loss(
          mapped_attention, student_out['attention'])
    else:
      attention_mse = distillation.attention_mse_loss(
          mapped_attention, student_out['attention'], input_mask)
    logits_loss = (distillation.soft_cross_entropy_loss
                   if config.logits_loss == 'soft_cross_entropy' else
                   distillation.kl_distillation_loss)
    losses = dict(
        hidden_mse=distillation.hidden_mse_loss(
            mapped_hidden, student_out['hidden'], input_mask),
        attention_mse=attention_mse,
        logits_kd=logits_loss(
            teacher_out['logits'], student_out['logits'], config.temperature),
        label_loss=tf.reduce_mean(
            tf_keras.losses.sparse_categorical_crossentropy(
                labels[self.label_field],
                tf.cast(student_out['logits'], tf.float32),
                from_logits=True)))
    return losses

  def total_loss(self, losses: Dict[str, tf.Tensor]) -> tf.Tensor:
    config = self.task_config.distillation
    return (config.hidden_weight * losses['hidden_mse'] +
            config.attention_weight * losses['attention_mse'] +
            config.logits_weight * losses['logits_kd'] +
            config.label_weight * losses['label_loss'])

  def train_step(self, inputs, model: tf_keras.Model, optimizer,
                 metrics=None):
    features, labels = inputs, inputs
    view = self._views[id(model)]
    teacher_out = self._teacher_view(features, training=False)
    with tf.GradientTape() as tape:
      student_out = view(features, training=True)
      losses = self.distillation_losses(labels, student_out, teacher_out,
                                        features.get('input_mask'))
      loss = self.total_loss(losses)
      if model.losses:
        loss += tf.add_n(model.losses)
      scaled_loss = loss_scaling.scale_loss(loss, optimizer)
    tvars = model.trainable_variables
    grads = loss_scaling.unscale_gradients(
        tape.gradient(scaled_loss, tvars), optimizer)
    optimizer.apply_gradients(list(zip(grads, tvars)))
    logs = {self.loss: loss}
    if metrics:
      self.process_metrics(metrics, labels, student_out['logits'])
      for metric in metrics:
        if metric.name in losses:
          metric.update_state(losses[metric.name])
    return logs


@task_factory.register_task_cls(SparseBertConfig)
class SparseBertTask(pruning_tasks.PruningTaskMixin,
                     DistilledSentencePredictionTask):
  """SparseBERT: pruned while fine-tuned and distilled from a teacher."""
