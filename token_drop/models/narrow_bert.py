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

"""NarrowBERT models: a pretrainer and a token classifier.

Both run a `NarrowBertEncoder` (`token_drop.encoders.narrow_bert`) whose last
layers compute only a few "narrow" positions; the models choose them.

* `NarrowBertPretrainer`: tfm's `BertPretrainerV2` whose narrow positions are
  the masked-LM positions (with [CLS] first when there are classification
  heads); the MLM head reads the narrow outputs directly. Without
  `masked_lm_positions` (inference) it returns the encoder outputs of a
  [CLS]-only pass and no MLM logits.
* `NarrowTokenClassifier`: a tagging head on the narrow outputs, the logits
  written back at their token positions, so tfm's tagging losses and metrics
  see [batch, seq, classes].

Sentence prediction needs no model of its own: the encoder's default narrow
position is [CLS], so tfm's `BertClassifier` runs it unchanged.

The tasks that build and train these models are in
`token_drop.tasks.narrow_bert`.
"""

import tensorflow as tf
import tf_keras

from official.nlp.modeling import models
from token_drop.layers import positions as positions_lib


def narrow_output(outputs, positions):
  """Final states at `positions` (narrow or, with no narrow layer, gathered).

  Args:
    outputs: The encoder's output dict.
    positions: int32 [batch, n] positions the encoder was asked for.

  Returns:
    [batch, n, hidden]: `narrow_output` when the encoder has narrow layers,
    else `sequence_output` gathered at `positions`.
  """
  if 'narrow_output' in outputs:
    return outputs['narrow_output']
  return tf.gather(outputs['sequence_output'], positions, batch_dims=1)


@tf_keras.utils.register_keras_serializable(package='TokenDrop')
class NarrowBertPretrainer(models.BertPretrainerV2):
  """`BertPretrainerV2` whose encoder is narrow at the masked positions.

  Takes the arguments of `BertPretrainerV2` (whose `get_config` it keeps),
  with a `NarrowBertEncoder` as `encoder_network`. Inputs: the encoder inputs
  plus optional `masked_lm_positions` [batch, n].
  """

  def call(self, inputs):  # pytype: disable=signature-mismatch
    positions = inputs.get('masked_lm_positions', None)
    encoder_inputs = dict(inputs)
    encoder_inputs.pop('masked_lm_positions', None)
    with_cls = bool(self.classification_heads)
    if positions is not None:
      positions = tf.cast(positions, tf.int32)
      narrow = positions
      if with_cls:
        narrow = tf.concat([tf.zeros_like(positions[:, :1]), positions], 1)
      encoder_inputs['narrow_positions'] = narrow
    outputs = dict(self.encoder_network(encoder_inputs))
    if positions is not None:
      states = narrow_output(outputs, encoder_inputs['narrow_positions'])
      if with_cls:
        states = states[:, 1:]
      # The head gathers nothing: the states are already the predictions'.
      identity = tf.broadcast_to(
          tf.range(tf.shape(positions)[1], dtype=tf.int32)[tf.newaxis],
          tf.shape(positions))
      outputs['mlm_logits'] = self.masked_lm(states, masked_positions=identity)
    for cls_head in self.classification_heads:
      cls_outputs = cls_head(outputs['sequence_output'])
      if isinstance(cls_outputs, dict):
        outputs.update(cls_outputs)
      else:
        outputs[cls_head.name] = cls_outputs
    return outputs


@tf_keras.utils.register_keras_serializable(package='TokenDrop')
class NarrowTokenClassifier(tf_keras.Model):
  """Token classification with the narrow layers at the labelled positions.

  Inputs: the encoder inputs plus optional `narrow_positions` [batch, n]
  (default: every position). Outputs: `logits` [batch, seq, classes] with
  the narrow positions' logits at their token positions (zeros elsewhere)
  and `encoder_outputs`.

  Args:
    network: A `NarrowBertEncoder` (or `BertEncoderV2`).
    num_classes: Number of tag classes.
    initializer: Initializer of the classification layer.
    dropout_rate: Dropout before the classification layer.
  """

  def __init__(self, network, num_classes: int,
               initializer='glorot_uniform', dropout_rate: float = 0.1,
               **kwargs):
    super().__init__(**kwargs)
    self._network = network
    self._config = dict(network=network, num_classes=num_classes,
                        initializer=initializer, dropout_rate=dropout_rate)
    self._dropout = tf_keras.layers.Dropout(rate=dropout_rate)
    self.classifier = tf_keras.layers.Dense(
        num_classes, kernel_initializer=initializer,
        name='predictions/transform/logits')

  def call(self, inputs, training=None):
    word_ids = inputs['input_word_ids']
    positions = inputs.get('narrow_positions', None)
    if positions is None:
      positions = tf.broadcast_to(
          tf.range(tf.shape(word_ids)[1], dtype=tf.int32)[tf.newaxis],
          tf.shape(word_ids))
    positions = tf.cast(positions, tf.int32)
    encoder_inputs = {k: inputs[k] for k in ('input_word_ids', 'input_mask',
                                             'input_type_ids')}
    encoder_inputs['narrow_positions'] = positions
    outputs = self._network(encoder_inputs, training=training)
    states = self._dropout(narrow_output(outputs, positions),
                           training=training)
    narrow_logits = self.classifier(states)
    zeros = tf.zeros(tf.concat([tf.shape(word_ids), [tf.shape(
        narrow_logits)[-1]]], 0), narrow_logits.dtype)
    logits = positions_lib.scatter_positions(zeros, positions, narrow_logits)
    return dict(logits=logits, encoder_outputs=outputs['sequence_output'])

  @property
  def checkpoint_items(self):
    return dict(encoder=self._network)

  def get_config(self):
    return dict(self._config)
