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

"""tfm's sentence prediction that can start from a whole fine-tuned classifier.

tfm's `SentencePredictionTask.initialize` restores only the encoder (and
optionally a pretraining pooler) from `task.init_checkpoint`. Pruning a model
that is already fine-tuned, or starting a distilled student as a copy of its
teacher, needs the classification head too: with `init_classifier=True` the
whole classifier (`model` item, as train.py saves it in a fine-tuning
model_dir) is restored instead. The pruning and distillation tasks derive from
these classes, so the option is the same everywhere.
"""

import dataclasses

from absl import logging
import tensorflow as tf
import tf_keras

from official.core import task_factory
from official.nlp.tasks import sentence_prediction
from token_drop.core import checkpoints


# Kept here, where it was first defined, for existing imports.
InitCheckpointError = checkpoints.InitCheckpointError


@dataclasses.dataclass
class SentencePredictionConfig(sentence_prediction.SentencePredictionConfig):
  """tfm's config plus `init_classifier` and `init_checkpoint_partial`.

  Attributes:
    init_classifier: Restore the whole classifier (encoder and head) from
      `init_checkpoint`, a `finetuning/sentence_prediction` model_dir or
      checkpoint, instead of only the encoder.
    init_checkpoint_partial: Accept an `init_checkpoint` whose encoder does
      not match the model's exactly (e.g. more layers, or variables the
      model keeps at their initial values); without it that is an error
      (`token_drop.core.checkpoints.check_encoder_init`).
  """
  init_classifier: bool = False
  init_checkpoint_partial: bool = False


def restore_classifier(model: tf_keras.Model, reference: tf_keras.Model,
                       init_checkpoint: str) -> str:
  """Restores a whole classifier from a fine-tuning checkpoint.

  The checkpoint is read into `reference`, a plain classifier of the same
  config, where every saved object must match; its trainable weights are then
  copied into `model`. This way, objects `model` has beyond the classifier
  (e.g. pruning masks) start fresh instead of failing the match.

  Args:
    model: The classifier to initialize, with its variables created.
    reference: A plain classifier built from the same model config.
    init_checkpoint: Checkpoint prefix or model_dir (its latest checkpoint).

  Returns:
    The checkpoint prefix read.

  Raises:
    InitCheckpointError: no checkpoint, or one without a classifier of this
      shape under `model` (e.g. a pretraining or import_hf checkpoint).
  """
  path = checkpoints.find_checkpoint(init_checkpoint)
  if path is None:
    raise InitCheckpointError(
        f'task.init_checkpoint={init_checkpoint!r} holds no checkpoint; '
        'task.init_classifier=true needs a fine-tuning model_dir or '
        'checkpoint prefix.')
  names = [name for name, _ in tf.train.list_variables(path)]
  if not any(name.startswith('model/') for name in names):
    raise InitCheckpointError(
        f'task.init_checkpoint={path!r} has no `model` item (it looks like a '
        'pretraining or imported encoder checkpoint); task.init_classifier='
        'true needs a checkpoint saved by a sentence prediction run. Set '
        'task.init_classifier=false to restore only the encoder.')
  try:
    status = tf.train.Checkpoint(model=reference).read(path)
    status.expect_partial().assert_existing_objects_matched()
  except (AssertionError, ValueError) as e:
    raise InitCheckpointError(
        f'task.init_checkpoint={path!r}: its classifier does not fit '
        f'task.model: {str(e)[:500]}') from e
  targets, sources = model.trainable_variables, reference.trainable_variables
  if [v.shape for v in targets] != [v.shape for v in sources]:
    raise InitCheckpointError(
        f'task.init_checkpoint={path!r}: the task\'s model has other weights '
        'than a classifier of task.model.')
  for target, source in zip(targets, sources):
    target.assign(source)
  return path


@task_factory.register_task_cls(SentencePredictionConfig)
class SentencePredictionTask(sentence_prediction.SentencePredictionTask):
  """tfm's sentence prediction; `init_classifier` restores the whole model."""

  def initialize(self, model):
    if not self.task_config.init_classifier:
      super().initialize(model)
      return
    reference = sentence_prediction.SentencePredictionTask.build_model(self)
    path = restore_classifier(model, reference,
                              self.task_config.init_checkpoint)
    logging.info('Classifier (encoder and head) restored from %s', path)
