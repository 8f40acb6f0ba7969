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

"""Pre-layer-norm BERT with a final LayerNorm (24-hour BERT, Izsak et al. 2021).

24-hour BERT (academic-budget-bert) trains a pre-LN transformer: each layer
normalises its input before attention and before the feed-forward network,
and the encoder normalises the output of its last layer once more
(`FinalLayerNorm`) before the heads and the pooler read it. tfm's
`BertEncoderV2` with `norm_first=True` has the pre-LN layers but not the final
LayerNorm, so its outputs are un-normalised residual streams.

`PreLNBertEncoder` is `BertEncoderV2` (same variables, same names) plus that
final LayerNorm (`final_layer_norm`, epsilon 1e-12, computed in float32 like
tfm's other layer norms). Its `sequence_output`, the last entry of
`encoder_outputs` and the pooler's input are normalised; the other entries of
`encoder_outputs` are the layers' raw outputs, as in the reference.

Checkpoints: a `PreLNBertEncoder` restores from a pre-LN `BertEncoderV2`
checkpoint (its final LayerNorm keeps its initial identity values), but a
plain `BertEncoderV2` restored from a `PreLNBertEncoder` checkpoint silently
lacks the final LayerNorm: fine-tune with the `budget_bert/*` experiments.
Hugging Face BERT is post-LN, so `token_drop.tools.export_hf` refuses these
encoders (`norm_first=true`) instead of exporting them wrongly.
"""

import dataclasses

import tensorflow as tf
import tf_keras

from official.modeling.hyperparams import base_config
from official.nlp.configs import encoders
from official.nlp.modeling import networks
from token_drop import compat
from token_drop.encoders import bert_base


@tf_keras.utils.register_keras_serializable(package='TokenDrop')
class PreLNBertEncoder(networks.BertEncoderV2):
  """Pre-LN `BertEncoderV2` whose last layer's output is layer-normalised.

  Args:
    vocab_size: The size of the token vocabulary.
    final_layer_norm: Apply the final LayerNorm (the reference does); False
      computes `BertEncoderV2` with `norm_first=True`.
    **kwargs: `BertEncoderV2` arguments (hidden_size, num_layers, ...).
      `norm_first` must be True; `with_dense_inputs` is not supported.
  """

  def __init__(self, vocab_size: int, final_layer_norm: bool = True,
               **kwargs):
    if kwargs.get('with_dense_inputs'):
      raise ValueError('PreLNBertEncoder does not support '
                       'with_dense_inputs=True.')
    if not kwargs.setdefault('norm_first', True):
      raise ValueError(
          'PreLNBertEncoder is pre-LN: norm_first must be True (got False); '
          'use encoder type `bert` for a post-LN BERT.')
    super().__init__(vocab_size=vocab_size, **kwargs)
    self._final_layer_norm = None
    if final_layer_norm:
      self._final_layer_norm = tf_keras.layers.LayerNormalization(
          name='final_layer_norm', axis=-1, epsilon=1e-12, dtype=tf.float32)
    # A plain (untracked) dict: functional models built on `self.inputs`
    # (tfm's BertClassifier) take their save signature from it, and
    # tf.saved_model cannot trace a tracked _DictWrapper.
    compat.set_untracked_attribute(self, 'inputs', dict(self.inputs))
    compat.encoder_config(self)['final_layer_norm'] = final_layer_norm

  @property
  def final_layer_norm(self):
    """The final LayerNorm layer, or None."""
    return self._final_layer_norm

  def call(self, inputs, training=None):
    embeddings, attention_mask = bert_base.embed(self, inputs, training)
    encoder_outputs = []
    attention_outputs = []
    x = embeddings
    config = compat.encoder_config(self)
    layers = self.transformer_layers
    for i, layer in enumerate(layers):
      output_range = (compat.encoder_output_range(self)
                       if i == len(layers) - 1 else None)
      x = layer([x, attention_mask], output_range=output_range,
                training=training)
      if config['return_attention_scores']:
        x, scores = x
        attention_outputs.append(scores)
      encoder_outputs.append(x)
    if self._final_layer_norm is not None:
      x = self._final_layer_norm(x)
      encoder_outputs[-1] = x
    outputs = dict(
        sequence_output=x,
        pooled_output=self.pooler_layer(x[:, 0, :]),
        encoder_outputs=encoder_outputs)
    if compat.encoder_config(self)['return_attention_scores']:
      outputs['attention_scores'] = attention_outputs
    if compat.encoder_config(self)['return_word_embeddings']:
      outputs['word_embeddings'] = embeddings
    return outputs

  def get_config(self):
    return dict(compat.encoder_config(self))


@dataclasses.dataclass
class PreLNBertEncoderConfig(encoders.BertEncoderConfig):
  """`BertEncoderConfig`, pre-LN, with the final LayerNorm; `encoder.any`.

  Attributes:
    norm_first: Must stay True (the encoder is pre-LN).
    final_layer_norm: LayerNorm the last layer's output (24-hour BERT).
  """
  norm_first: bool = True
  final_layer_norm: bool = True


@base_config.bind(PreLNBertEncoderConfig)
def build_pre_ln_bert_encoder(
    config: PreLNBertEncoderConfig) -> PreLNBertEncoder:
  """Builds the encoder from its config (tfm's `encoder.type: any` hook).

  Args:
    config: A `PreLNBertEncoderConfig`.

  Returns:
    A `PreLNBertEncoder`.
  """
  return PreLNBertEncoder(**bert_base.bert_encoder_kwargs(config),
                          final_layer_norm=config.final_layer_norm)
