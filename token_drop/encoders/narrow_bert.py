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

"""BERT encoder with narrow layers (NarrowBERT, Li et al., ACL 2023).

Paper: arXiv 2301.04761.

The first `full_length_layers` layers are ordinary transformer layers over
all tokens. The remaining ("narrow") layers update only a set of narrow
positions given per example (`narrow_positions`, [batch, n] int32):

* `sparse_queries` (the paper's SparseQueries): each narrow layer takes its
  queries from the narrow positions' current states and its keys and values
  from the output of the last full-length layer, which stays fixed and is
  shared by all narrow layers (each layer keeps its own K/V projections;
  padding is masked). Output projection, residual, layer norm and
  feed-forward run only on the narrow positions. This is exactly
  `TransformerEncoderBlock`'s [query, key_value, mask] path.
* `context_first` (the paper's ContextFirst): the attention sublayers of all
  narrow layers run at full length first, then their feed-forward sublayers
  run only on the narrow positions.

In both modes a narrow position's output depends only on its own position
and the full-length states, never on which other positions are narrow: a
padding slot (e.g. position 0 with MLM weight 0) and duplicates are harmless,
and running the narrow layers at every position gives each position the
output it would get as the only narrow one.

Outputs: `narrow_output` [batch, n, hidden] holds the final states of the
narrow positions; `sequence_output` [batch, seq, hidden] holds them at their
positions and, elsewhere, the last full-length state (so tfm heads that read
`sequence_output[:, 0]` or `pooled_output` see [CLS]'s final state when 0 is
narrow). Without `narrow_positions` the narrow position is [CLS] (position 0):
sentence encoding, which is what tfm's `BertClassifier` and serving use.
`encoder_outputs` lists the full-length layers' outputs and then the final
`sequence_output`; `narrow_positions` echoes the positions used.

The encoder subclasses `BertEncoderV2` and holds exactly its variables under
the same names, so BERT checkpoints (ours, imported, token-dropping) load
into it and its checkpoints load into a plain `BertEncoderV2`. With
`full_length_layers == num_layers` it computes `BertEncoderV2`.
"""

import dataclasses
from typing import Optional

import tensorflow as tf
import tf_keras

from official.modeling.hyperparams import base_config
from official.nlp.configs import encoders
from official.nlp.modeling import networks
from token_drop import compat
from token_drop.encoders import bert_base
from token_drop.layers import positions as positions_lib

NARROW_MODES = ('sparse_queries', 'context_first')


@tf_keras.utils.register_keras_serializable(package='TokenDrop')
class NarrowBertEncoder(networks.BertEncoderV2):
  """`BertEncoderV2` whose last layers update only the narrow positions.

  Args:
    vocab_size: The size of the token vocabulary.
    full_length_layers: Number of leading ordinary (full-length) layers; the
      remaining `num_layers - full_length_layers` layers are narrow. None:
      all layers are full length (plain BERT).
    narrow_mode: 'sparse_queries' or 'context_first'.
    **kwargs: `BertEncoderV2` arguments (hidden_size, num_layers, ...).
      `with_dense_inputs`, `return_attention_scores` and `output_range` are
      not supported.
  """

  def __init__(self,
               vocab_size: int,
               full_length_layers: Optional[int] = 2,
               narrow_mode: str = 'sparse_queries',
               **kwargs):
    for unsupported in ('with_dense_inputs', 'return_attention_scores',
                        'output_range'):
      if kwargs.get(unsupported):
        raise ValueError(f'NarrowBertEncoder does not support '
                         f'{unsupported}={kwargs[unsupported]!r}.')
    if narrow_mode not in NARROW_MODES:
      raise ValueError(f'narrow_mode={narrow_mode!r}; expected one of '
                       f'{NARROW_MODES}.')
    super().__init__(vocab_size=vocab_size, **kwargs)
    num_layers = len(self.transformer_layers)
    full = num_layers if full_length_layers is None else full_length_layers
    if not 0 < full <= num_layers:
      raise ValueError(
          f'full_length_layers={full_length_layers} must satisfy '
          f'0 < full_length_layers <= num_layers={num_layers} (narrow layers '
          'attend to the output of the last full-length layer).')
    self._full_length_layers = full
    self._narrow_mode = narrow_mode
    if narrow_mode == 'context_first':
      for block in self.transformer_layers[full:]:
        check_sublayer_support(block)
    # A plain (untracked) dict: functional models built on `self.inputs`
    # (tfm's BertClassifier) take their save signature from it, and
    # tf.saved_model cannot trace a tracked _DictWrapper.
    compat.set_untracked_attribute(self, 'inputs', dict(self.inputs))
    compat.encoder_config(self).update({
        'full_length_layers': full_length_layers,
        'narrow_mode': narrow_mode,
    })

  @property
  def full_length_layers(self) -> int:
    return self._full_length_layers

  @property
  def num_narrow_layers(self) -> int:
    return len(self.transformer_layers) - self._full_length_layers

  @property
  def narrow_mode(self) -> str:
    return self._narrow_mode

  def call(self, inputs, training=None):
    embeddings, attention_mask = bert_base.embed(self, inputs, training)
    mask = inputs['input_mask']

    encoder_outputs = []
    x = embeddings
    for layer in self.transformer_layers[:self._full_length_layers]:
      x = layer([x, attention_mask], training=training)
      encoder_outputs.append(x)

    outputs = {}
    if self.num_narrow_layers:
      positions = inputs.get('narrow_positions', None)
      if positions is None:
        # Sentence encoding: [CLS] only.
        positions = tf.zeros_like(mask[:, :1])
      positions = tf.cast(positions, tf.int32)
      if self._narrow_mode == 'sparse_queries':
        x, x_narrow = self._sparse_queries(x, mask, positions, training)
      else:
        x, x_narrow = self._context_first(x, attention_mask, positions,
                                          training)
      x = positions_lib.scatter_positions(x, positions, x_narrow)
      encoder_outputs.append(x)
      outputs['narrow_output'] = x_narrow
      outputs['narrow_positions'] = positions

    outputs.update(
        sequence_output=x,
        pooled_output=self.pooler_layer(x[:, 0, :]),
        encoder_outputs=encoder_outputs)
    if compat.encoder_config(self)['return_word_embeddings']:
      outputs['word_embeddings'] = embeddings
    return outputs

  def _narrow_layers(self):
    return self.transformer_layers[self._full_length_layers:]

  def _sparse_queries(self, context, mask, positions, training):
    """Narrow layers with queries at `positions`, K/V from `context`."""
    x_narrow = tf.gather(context, positions, batch_dims=1)
    # [batch, n, seq]: every narrow query sees every unpadded position.
    cross_mask = compat.encoder_attention_mask_layer(self)(x_narrow, mask)
    for layer in self._narrow_layers():
      x_narrow = layer([x_narrow, context, cross_mask], training=training)
    return context, x_narrow

  def _context_first(self, x, attention_mask, positions, training):
    """Full-length attention sublayers, then narrow feed-forward sublayers."""
    for layer in self._narrow_layers():
      if not layer.built:
        # The block creates its sublayers (and variables) on its first call;
        # the unused output is pruned from graphs.
        layer([x, attention_mask], training=training)
      x = attention_sublayer(layer, x, attention_mask, training)
    x_narrow = tf.gather(x, positions, batch_dims=1)
    for layer in self._narrow_layers():
      x_narrow = feedforward_sublayer(layer, x_narrow, training)
    return x, x_narrow

  def get_config(self):
    return dict(compat.encoder_config(self))


# TransformerEncoderBlock settings under which `attention_sublayer` and
# `feedforward_sublayer` compute what the block's own `call` does; BertEncoderV2
# builds its blocks with these defaults (only norm_first varies).
_SUBLAYER_SETTINGS = dict(
    use_query_residual=True, diff_q_kv_att_layer_norm=False,
    linformer_dim=None, output_last_dim=None, output_range=None,
    use_rms_norm=False, use_sigmoid_attn=False, num_kv_heads=None,
    src_block_size=None, tgt_block_size=None)


def check_sublayer_support(block) -> None:
  """Raises if `block` has settings the sublayer functions do not follow.

  Args:
    block: A `TransformerEncoderBlock`.

  Raises:
    ValueError: naming the unsupported settings.
  """
  wrong = {name: compat.block_setting(block, name, value)
           for name, value in _SUBLAYER_SETTINGS.items()
           if compat.block_setting(block, name, value) != value}
  if wrong:
    raise ValueError(
        f'narrow_mode=context_first splits {block.name} into its attention '
        f'and feed-forward halves, which supports BertEncoderV2\'s default '
        f'block settings only; this block has {wrong}. Use narrow_mode='
        'sparse_queries.')


def attention_sublayer(block, x, attention_mask, training=None):
  """The self-attention half of a `TransformerEncoderBlock` (BERT config).

  Uses the block's own sublayers (same variables), as the block's `call`
  does with `use_query_residual=True` and no linformer/output range.

  Args:
    block: A `TransformerEncoderBlock`.
    x: [batch, seq, hidden] input.
    attention_mask: [batch, seq, seq] mask.
    training: Dropout flag.

  Returns:
    [batch, seq, hidden] output of the attention sublayer.
  """
  # The block's __call__ casts its inputs to its compute dtype (bfloat16 or
  # float16 under a mixed policy) before `call`; calling its sublayers
  # directly skips that, and the residual sums below would mix dtypes.
  x = tf.cast(x, block.compute_dtype)
  parts = compat.block_sublayers(block)
  if parts.norm_first:
    normed = parts.attention_norm(x)
    out = parts.attention(query=normed, key=normed, value=normed,
                          attention_mask=attention_mask, training=training)
    return x + parts.attention_dropout(out, training=training)
  out = parts.attention(query=x, key=x, value=x,
                        attention_mask=attention_mask, training=training)
  out = parts.attention_dropout(out, training=training)
  return parts.attention_norm(x + out)


def feedforward_sublayer(block, x, training=None):
  """The feed-forward half of a `TransformerEncoderBlock` (BERT config).

  Args:
    block: A `TransformerEncoderBlock`.
    x: [..., hidden] output of the block's attention sublayer.
    training: Dropout flag.

  Returns:
    [..., hidden] output of the block.
  """
  parts = compat.block_sublayers(block)
  if parts.norm_first:
    # Pre-norm blocks add the residual in their compute dtype (post-norm ones
    # in float32, after their float32 layer norm; see the end).
    x = tf.cast(x, block.compute_dtype)
  source = x
  if parts.norm_first:
    x = parts.output_norm(x)
  inner = parts.intermediate_dense(x)
  inner = parts.intermediate_activation(inner)
  inner = parts.inner_dropout(inner, training=training)
  out = parts.output_dense(inner)
  out = parts.output_dropout(out, training=training)
  if parts.norm_first:
    return source + out
  return parts.output_norm(tf.cast(out, tf.float32) + source)


@dataclasses.dataclass
class NarrowBertEncoderConfig(encoders.BertEncoderConfig):
  """`BertEncoderConfig` plus narrow layers; used as `encoder.any`.

  Attributes:
    full_length_layers: Leading full-length layers (the paper uses 2 of 12);
      0 is not allowed (narrow layers attend to the last full-length output).
    narrow_mode: 'sparse_queries' or 'context_first'.
  """
  full_length_layers: int = 2
  narrow_mode: str = 'sparse_queries'


@base_config.bind(NarrowBertEncoderConfig)
def build_narrow_bert_encoder(
    config: NarrowBertEncoderConfig) -> NarrowBertEncoder:
  """Builds the encoder from its config (tfm's `encoder.type: any` hook).

  Args:
    config: A `NarrowBertEncoderConfig`.

  Returns:
    A `NarrowBertEncoder`.
  """
  return NarrowBertEncoder(
      **bert_base.bert_encoder_kwargs(config),
      full_length_layers=config.full_length_layers,
      narrow_mode=config.narrow_mode)
