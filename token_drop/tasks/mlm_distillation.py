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

"""MLM pretraining with teacher distillation (Bort, de Wynter & Perry 2020).

loss = mlm_weight * CE_mlm + teacher_weight * L_teacher(z_t, z_s, T), both
over the masked positions (slots with weight 0 excluded). L_teacher is

* `teacher_loss: bort_kldiv` (default, Bort's released code): MXNet's
  KLDivLoss(from_logits=False) applied to the student's softmax, i.e. the
  teacher's distribution against log_softmax of the student's
  *probabilities*, averaged over the vocabulary, times T^2
  (`distillation.bort_kldiv_loss`). This term is nearly constant: on
  BERT's 30522-word vocabulary at T = 2, with logits of standard deviation
  4, it is 2.7e-4 and its largest gradient on a student logit 1e-10, against
  1.6e-2 for `kl` (tests/tasks/test_distillation.py). Bort was therefore in
  effect trained on mlm_weight x MLM alone;
* `teacher_loss: kl`: T^2 * KL(softmax(z_t / T) || softmax(z_s / T)) summed
  over the vocabulary (`distillation.kl_distillation_loss`), a distillation
  term that actually pulls the student to the teacher (not Bort's recipe).

The student is any encoder with an MLM head; the teacher is built by
`token_drop.tasks.distillation` and must share the student's vocabulary.
"""

import dataclasses

import tf_keras

from official.core import task_factory
from token_drop.core import config_parser
from token_drop.tasks import distillation
from token_drop.tasks import masked_lm

# Choices of MLMDistillationConfig.teacher_loss; the first is Bort's.
TEACHER_LOSSES = ('bort_kldiv', 'kl')


@dataclasses.dataclass
class MLMDistillationConfig(masked_lm.MaskedLMConfig):
  """Masked LM with a distillation term.

  Attributes:
    teacher: The frozen teacher.
    temperature: Softmax temperature T of the distillation term.
    teacher_weight: Weight of the distillation term.
    mlm_weight: Weight of the student's own MLM cross-entropy.
    teacher_loss: `bort_kldiv` (Bort's code, nearly inert) or `kl` (T^2 KL,
      a working distillation term).
  """
  teacher: distillation.TeacherConfig = dataclasses.field(
      default_factory=distillation.TeacherConfig)
  temperature: float = 2.0
  teacher_weight: float = 0.5
  mlm_weight: float = 0.1
  teacher_loss: str = 'bort_kldiv'


@task_factory.register_task_cls(MLMDistillationConfig)
class MLMDistillationTask(masked_lm.MaskedLMTask):
  """Masked LM whose loss adds the KL to a teacher's MLM distribution."""

  def __init__(self, params: MLMDistillationConfig, logging_dir=None,
               name=None):
    if params.teacher_loss not in TEACHER_LOSSES:
      raise config_parser.ConfigError(
          f'task.teacher_loss={params.teacher_loss!r}: expected one of '
          f'{", ".join(TEACHER_LOSSES)}.')
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
    """Returns (total loss, per-position MLM losses) with the teacher term."""
    config = self.task_config
    # The parent weighs the MLM term by `mlm_loss_weight` and adds the NSP
    # and auxiliary losses.
    total, lm_losses = super().compute_losses(labels, model_outputs, metrics,
                                              aux_losses)
    teacher_logits = self._teacher(labels, training=False)['mlm_logits']
    teacher_loss = (distillation.bort_kldiv_loss
                    if config.teacher_loss == 'bort_kldiv' else
                    distillation.kl_distillation_loss)
    kd_loss = teacher_loss(
        teacher_logits, model_outputs['mlm_logits'], config.temperature,
        labels['masked_lm_weights'])
    by_name = {metric.name: metric for metric in metrics}
    by_name['distillation_loss'].update_state(kd_loss)
    return total + config.teacher_weight * kd_loss, lm_losses
