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

"""NarrowBERT tasks: masked-LM pretraining and tagging on narrow positions.

The Keras models these tasks build are in `token_drop.models.narrow_bert`.

* Pretraining (`NarrowMaskedLMTask`): the shared masked-LM task
  (`token_drop.tasks.masked_lm`) whose model runs the narrow layers only at
  the masked-LM positions (`masked_lm_positions`, padding slots included:
  they carry weight 0 in the loss) and applies the MLM head to those
  outputs. With classification heads (next-sentence prediction) [CLS] is a
  narrow position too. Without `masked_lm_positions` (inference) the model
  returns the encoder outputs of a [CLS]-only pass and no MLM logits.
* Sentence prediction needs no task of its own: the encoder's default narrow
  position is [CLS], so tfm's `SentencePredictionTask` / `BertClassifier`
  (and their SavedModel export) run it unchanged.
* Tagging (`NarrowTaggingTask`): tfm's tagging task whose model runs the
  narrow layers at the labelled positions (the first sub-word of each word),
  which the input pipeline compacts from `label_ids >= 0` into a static
  `narrow_positions` [batch, narrow_length] feature. The logits are written
  back at their token positions, so tfm's losses, seqeval metrics and
  `tagging.predict` (which keeps the labelled positions, in order) see
  [batch, seq, classes] logits aligned with the words. Without
  `narrow_positions` (inference on raw token ids) every position is narrow:
  a narrow position's output does not depend on the other narrow positions,
  so the labelled positions get exactly the logits of the training path.
"""

import dataclasses
from typing import List, Optional, Tuple

import tensorflow as tf
import tf_keras

from official.core import task_factory
from official.modeling import tf_utils
from official.nlp.configs import encoders
from official.nlp.modeling import layers
from official.nlp.tasks import tagging
from token_drop.core import config_parser
from token_drop.encoders import narrow_bert
from token_drop.models import narrow_bert as narrow_models
from token_drop.tasks import masked_lm
from token_drop.tasks import tagging as tagging_tasks


def _check_encoder(params, task_name: str):
  encoder = params.model.encoder
  encoder_cfg = encoder.get() if hasattr(encoder, 'get') else None
  if not isinstance(encoder_cfg, narrow_bert.NarrowBertEncoderConfig):
    raise config_parser.ConfigError(
        f'{task_name}: task.model.encoder must be `type: any` with a narrow '
        'encoder config (full_length_layers, narrow_mode, ...), got '
        f'type={getattr(encoder, "type", None)!r}.')


@dataclasses.dataclass
class NarrowMaskedLMConfig(masked_lm.MaskedLMConfig):
  """Masked-LM config with encoder `encoder.any: NarrowBertEncoderConfig`."""


@task_factory.register_task_cls(NarrowMaskedLMConfig)
class NarrowMaskedLMTask(masked_lm.MaskedLMTask):
  """Masked LM with narrow layers at the masked-LM positions."""

  def __init__(self, params: NarrowMaskedLMConfig, logging_dir=None,
               name=None):
    _check_encoder(params, 'narrow_bert/pretraining')
    super().__init__(params, logging_dir=logging_dir, name=name)

  def build_model(self, params=None):
    config = params or self.task_config.model
    cls_heads = [layers.ClassificationHead(**cfg.as_dict())
                 for cfg in config.cls_heads] if config.cls_heads else []
    return narrow_models.NarrowBertPretrainer(
        mlm_activation=tf_utils.get_activation(config.mlm_activation),
        mlm_initializer=tf_keras.initializers.TruncatedNormal(
            stddev=config.mlm_initializer_range),
        encoder_network=self._build_encoder(config.encoder),
        classification_heads=cls_heads)


def labelled_positions(label_ids: tf.Tensor,
                       narrow_length: int) -> Tuple[tf.Tensor, tf.Tensor]:
  """The first `narrow_length` labelled positions of each sequence, in order.

  Args:
    label_ids: int [batch, seq] (or [seq]) labels, negative where unlabelled.
    narrow_length: Static number of slots.

  Returns:
    (positions int32 [..., narrow_length], valid int32 [..., narrow_length]);
    unused slots hold position 0 with valid 0.
  """
  label_ids = tf.convert_to_tensor(label_ids)
  seq_length = tf.shape(label_ids)[-1]
  labelled = label_ids >= 0
  # Earlier labelled positions score higher; unlabelled ones score 0.
  score = tf.where(labelled, seq_length - tf.range(seq_length), 0)
  score, positions = tf.math.top_k(score, k=narrow_length, sorted=True)
  valid = tf.cast(score > 0, tf.int32)
  return positions * valid, valid


@dataclasses.dataclass
class NarrowTaggingConfig(tagging_tasks.TaggingConfig):
  """tfm's tagging config plus the number of narrow slots.

  Attributes:
    narrow_length: Labelled positions per sequence run through the narrow
      layers (static); 0 = the sequence length. A sequence with more labelled
      words is an input error.
  """
  narrow_length: int = 0


@task_factory.register_task_cls(NarrowTaggingConfig)
class NarrowTaggingTask(tagging.TaggingTask):
  """Tagging whose narrow positions are the labelled (first sub-word) ones."""

  def __init__(self, params: NarrowTaggingConfig, logging_dir=None,
               name=None):
    _check_encoder(params, 'narrow_bert/tagging')
    if params.hub_module_url:
      raise config_parser.ConfigError(
          'narrow_bert/tagging builds its encoder from task.model.encoder; '
          'task.hub_module_url is not supported.')
    super().__init__(params, logging_dir=logging_dir, name=name)

  def build_model(self):
    return narrow_models.NarrowTokenClassifier(
        network=self._build_encoder(),
        num_classes=len(self.task_config.class_names),
        initializer=tf_keras.initializers.TruncatedNormal(
            stddev=self.task_config.model.head_initializer_range),
        dropout_rate=self.task_config.model.head_dropout)

  def _build_encoder(self):
    return encoders.build_encoder(self.task_config.model.encoder)

  def narrow_length(self, seq_length: int) -> int:
    return self.task_config.narrow_length or seq_length

  def build_inputs(self, params, input_context=None):
    """Returns tfm's tagging inputs plus `narrow_positions` from the labels."""
    dataset = super().build_inputs(params, input_context)
    narrow_length = self.narrow_length(params.seq_length)

    def add_positions(features, labels):
      positions, _ = labelled_positions(labels, narrow_length)
      count = tf.reduce_sum(tf.cast(labels >= 0, tf.int32), axis=-1)
      check = tf.debugging.assert_less_equal(
          count, narrow_length, message=(
              f'a sequence has more labelled words than task.narrow_length='
              f'{narrow_length}; raise it (0 = the sequence length)'))
      with tf.control_dependencies([check]):
        features = dict(features, narrow_positions=tf.identity(positions))
      return features, labels

    return dataset.map(add_positions,
                       num_parallel_calls=tf.data.experimental.AUTOTUNE)


def predict_words(task: NarrowTaggingTask, params,
                  model: tf_keras.Model) -> List[Tuple[int, List[str]]]:
  """Predicted tag of every word, per sentence, in the original word order.

  Sub-sentences (long sentences split by the converter) are joined back.

  Args:
    task: The tagging task.
    params: Its data config, with `include_sentence_id` true.
    model: The model.

  Returns:
    [(sentence_id, [tag per labelled word])] sorted by sentence id.
  """
  rows = tagging.predict(task, params, model)
  sentences = {}
  for sentence_id, _, ids in rows:
    sentences.setdefault(int(sentence_id), []).extend(
        task.task_config.class_names[i] for i in ids)
  return sorted(sentences.items())


def write_predictions(path: str, words: List[List[str]],
                      gold: Optional[List[List[str]]],
                      predictions: List[Tuple[int, List[str]]]) -> None:
  """Writes `word [gold] prediction` lines, a blank line between sentences.

  Args:
    path: Output file.
    words: Words of each sentence (source order).
    gold: Gold tags of each sentence, or None.
    predictions: `predict_words` output.

  Raises:
    ValueError: A sentence's prediction count differs from its word count.
  """
  by_id = dict(predictions)
  with tf.io.gfile.GFile(path, 'w') as f:
    for i, sentence in enumerate(words):
      tags = by_id.get(i, [])
      if len(tags) != len(sentence):
        raise ValueError(f'sentence {i}: {len(tags)} predictions for '
                         f'{len(sentence)} words.')
      for j, (word, tag) in enumerate(zip(sentence, tags)):
        fields = [word] + ([gold[i][j]] if gold is not None else []) + [tag]
        f.write(' '.join(fields) + '\n')
      f.write('\n')
