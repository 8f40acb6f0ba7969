"""Masked-LM pretraining distilled from a teacher (Bort, de Wynter & Perry 2020).

loss = mlm_weight * CE_mlm + teacher_weight * T^2 * KL(softmax(z_t / T) ||
softmax(z_s / T)), both over the masked positions (slots with weight 0
excluded). The student is any encoder with an MLM head; the teacher is built
by `token_drop.tasks.distillation` and must share the student's vocabulary.
"""

import dataclasses

import tf_keras

from official.core import task_factory
from token_drop.tasks import distillation
from token_drop.tasks import masked_lm


@dataclasses.dataclass
class MLMDistillationConfig(masked_lm.MaskedLMConfig):
  """Masked LM with a distillation term.

  Attributes:
    teacher: The frozen teacher.
    temperature: Softmax temperature T of the distillation term.
    teacher_weight: Weight of the T^2-scaled KL term.
    mlm_weight: Weight of the student's own MLM cross-entropy.
  """
  teacher: distillation.TeacherConfig = dataclasses.field(
      default_factory=distillation.TeacherConfig)
  temperature: float = 2.0
  teacher_weight: float = 0.5
  mlm_weight: float = 0.1


@task_factory.register_task_cls(MLMDistillationConfig)
class MLMDistillationTask(masked_lm.MaskedLMTask):
  """Masked LM whose loss adds the KL to a teacher's MLM distribution."""

  def __init__(self, params: MLMDistillationConfig, logging_dir=None,
               name=None):
    super().__init__(params, logging_dir=logging_dir, name=name)
    self._teacher = None

  def build_model(self, params=None):
    student = super().build_model(params)
    if self._teacher is None:
      teacher_config = self.task_config.teacher
      self._teacher = distillation.restore_teacher(
          super().build_model(teacher_config.model), teacher_config)
      teacher_vocab = self._teacher.encoder_network.get_embedding_table(
      ).shape[0]
      student_vocab = student.encoder_network.get_embedding_table().shape[0]
      if teacher_vocab != student_vocab:
        raise distillation.TeacherCheckpointError(
            f'teacher vocab_size {teacher_vocab} differs from the student '
            f'vocab_size {student_vocab}; distillation needs the same '
            'vocabulary.')
    return student

  @property
  def teacher(self) -> tf_keras.Model:
    return self._teacher

  def build_metrics(self, training=None):
    metrics = super().build_metrics(training)
    metrics.append(tf_keras.metrics.Mean(name='distillation_loss'))
    return metrics

  @property
  def mlm_loss_weight(self) -> float:
    return self.task_config.mlm_weight

  def compute_losses(self, labels, model_outputs, metrics, aux_losses=None):
    """Returns (total loss, per-position MLM losses) with the KL term."""
    config = self.task_config
    # The parent weighs the MLM term by `mlm_loss_weight` and adds the NSP
    # and auxiliary losses.
    total, lm_losses = super().compute_losses(labels, model_outputs, metrics,
                                              aux_losses)
    teacher_logits = self._teacher(labels, training=False)['mlm_logits']
    kd_loss = distillation.kl_distillation_loss(
        teacher_logits, model_outputs['mlm_logits'], config.temperature,
        labels['masked_lm_weights'])
    by_name = {metric.name: metric for metric in metrics}
    by_name['distillation_loss'].update_state(kd_loss)
    return total + config.teacher_weight * kd_loss, lm_losses
