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

"""BERT encoder with token dropping (Hou et al., ACL 2022, arXiv 2203.13240).

During pretraining the middle layers process only the `token_keep_k` most
important positions of each sequence; the rest skip those layers and rejoin
before the last layer. With L layers and the default layer range:

* layers [0, L/2 - 1) see the full sequence;
* layer L/2 - 1 attends from the kept positions (queries) to all positions
  (keys/values);
* layers [L/2, L - 1) see only the kept positions;
* the dropped positions rejoin at their original places, carrying the hidden
  state they had when they were dropped, and layer L - 1 sees the full
  sequence again.

Importance is a per-vocabulary-id moving average of the MLM loss
(`token_drop.layers.token_importance`), updated by the token-drop task after
every training step.

Dropping happens only where the token-drop pretraining task asks for it: in
training calls (`training=True`) made inside `encoder.token_dropping()`, which
the task's `train_step` enters. Everywhere else (evaluation, inference,
export, and fine-tuning tasks built on the same encoder config, even with
`training=True`) nothing is dropped, the importance table is never read, and
the encoder computes exactly `BertEncoderV2`. The encoder subclasses
`BertEncoderV2` and its checkpoint holds the same variables under the same
names, so a pretrained checkpoint loads into a plain `BertEncoderV2` and vice
versa. The importance table is deliberately not part of the encoder (its
checkpoint, its SavedModel): the token-drop task checkpoints it with the
pretrainer model (`model.token_importance`).

As a drop-in for `BertEncoderV2` it also takes `input_word_embeddings` in
place of `input_word_ids` (not while dropping: importance is looked up by
id) and, as the upstream project's encoder, an `output_range` call argument.
`with_dense_inputs` and `return_attention_scores` are refused.
"""

import contextlib
import dataclasses
from typing import Iterator, Optional, Sequence, Tuple

import tensorflow as tf
import tf_keras

from official.modeling.hyperparams import base_config
from official.nlp.configs import encoders
from official.nlp.modeling import networks
from token_drop import compat
from token_drop.encoders import bert_base
from token_drop.layers import positions
from token_drop.layers import token_importance as token_importance_lib
from token_drop.layers import token_selection


def default_drop_layers(num_layers: int) -> Tuple[int, int]:
  """The paper's layer range [start, end) for `num_layers` layers.

  Layer `start` is the first whose queries are only the kept positions (it
  still attends to all positions); layer `end` is the first to see the full
  sequence again.

  Args:
    num_layers: Number of transformer layers.

  Returns:
    (start, end); start == end means no layer drops tokens.
  """
  end = max(num_layers - 1, 0)
  start = min(max(num_layers // 2 - 1, 0), end)
  return start, end


@tf_keras.utils.register_keras_serializable(package='TokenDrop')
class TokenDropBertEncoder(networks.BertEncoderV2):
  """`BertEncoderV2` that drops unimportant tokens in its middle layers.

  Args:
    vocab_size: The size of the token vocabulary.
    token_keep_k: Positions kept in the dropping layers (static).
    token_allow_list: Ids never dropped (default [UNK], [CLS], [SEP], [MASK]).
    token_deny_list: Ids dropped first (default [PAD]).
    token_loss_init_value: Initial importance of every id.
    token_loss_beta: Moving-average factor of the importance table.
    token_drop_start_layer: First layer whose queries are only the kept
      positions (it attends to all). None: num_layers // 2 - 1.
    token_drop_end_layer: First layer seeing the full sequence again; the
      dropped positions rejoin before it. None: num_layers - 1. Equal to
      num_layers: they rejoin after the last layer.
    **kwargs: `BertEncoderV2` arguments (hidden_size, num_layers, ...).
      `with_dense_inputs` and `return_attention_scores` are not supported.
  """

  def __init__(self,
               vocab_size: int,
               token_keep_k: int = 256,
               token_allow_list: Sequence[int] = (100, 101, 102, 103),
               token_deny_list: Sequence[int] = (0,),
               token_loss_init_value: float = 10.0,
               token_loss_beta: float = 0.995,
               token_drop_start_layer: Optional[int] = None,
               token_drop_end_layer: Optional[int] = None,
               **kwargs):
    for unsupported in ('with_dense_inputs', 'return_attention_scores'):
      if kwargs.get(unsupported):
        raise ValueError(f'TokenDropBertEncoder does not support '
                         f'{unsupported}=True.')
    super().__init__(vocab_size=vocab_size, **kwargs)
    num_layers = len(self.transformer_layers)
    default_start, default_end = default_drop_layers(num_layers)
    start = (default_start if token_drop_start_layer is None
             else token_drop_start_layer)
    end = default_end if token_drop_end_layer is None else token_drop_end_layer
    if not 0 <= start <= end <= num_layers:
      raise ValueError(
          f'token_drop_start_layer={start} and token_drop_end_layer={end} '
          f'must satisfy 0 <= start <= end <= num_layers={num_layers}.')
    self._drop_start = start
    self._drop_end = end
    self._token_selector = token_selection.TokenSelector(
        keep_k=token_keep_k, allow_list=token_allow_list,
        deny_list=token_deny_list, name='token_selector')
    importance = token_importance_lib.TokenImportance(
        vocab_size=vocab_size, init_value=token_loss_init_value,
        beta=token_loss_beta, name='token_importance')
    importance.build()
    # Not tracked by the encoder (object.__setattr__ skips Keras/trackable
    # bookkeeping): the encoder's variables and checkpoint stay exactly
    # BertEncoderV2's. Whoever trains it checkpoints the table (the token-drop
    # task attaches it to the pretrainer model).
    object.__setattr__(self, '_token_importance_holder', (importance,))
    # Depth of `token_dropping()` contexts (a count, not a bool: replica
    # threads of a MirroredStrategy enter and leave their own).
    object.__setattr__(self, '_dropping_depth', 0)
    # A plain (untracked) dict: functional models built on `self.inputs` take
    # their save signature from it, and SavedModel cannot trace a tracked
    # _DictWrapper.
    compat.set_untracked_attribute(self, 'inputs', dict(self.inputs))
    compat.encoder_config(self).update({
        'token_keep_k': token_keep_k,
        'token_allow_list': list(token_allow_list),
        'token_deny_list': list(token_deny_list),
        'token_loss_init_value': token_loss_init_value,
        'token_loss_beta': token_loss_beta,
        'token_drop_start_layer': token_drop_start_layer,
        'token_drop_end_layer': token_drop_end_layer,
    })

  @property
  def token_importance(self) -> token_importance_lib.TokenImportance:
    """The importance table layer (not tracked by this encoder)."""
    return self._token_importance_holder[0]

  @property
  def token_selector(self) -> token_selection.TokenSelector:
    return self._token_selector

  @property
  def drop_layers(self) -> Tuple[int, int]:
    """[start, end) range of layers whose queries are the kept positions."""
    return self._drop_start, self._drop_end

  def record_mlm_loss(self, mlm_ids, mlm_losses, mlm_weights=None):
    """Updates the importance table (tfm project API name)."""
    return self.token_importance.update(mlm_ids, mlm_losses, mlm_weights)

  @contextlib.contextmanager
  def token_dropping(self) -> Iterator[None]:
    """Training calls (`training=True`) inside this context drop tokens.

    The token-drop pretraining task wraps its training step in it; no other
    caller drops, so fine-tuning and export see `BertEncoderV2`. The flag is
    read when a call is traced: a tf.function traced outside the context
    never drops.

    Yields:
      None.
    """
    object.__setattr__(self, '_dropping_depth', self._dropping_depth + 1)
    try:
      yield
    finally:
      object.__setattr__(self, '_dropping_depth', self._dropping_depth - 1)

  def _drops(self, training) -> bool:
    if (self._drop_start >= self._drop_end or training is None
        or not self._dropping_depth):
      return False
    if tf.is_tensor(training):
      static = tf.get_static_value(training)
      if static is None:
        raise ValueError('TokenDropBertEncoder needs a Python bool (or '
                         'constant) `training` flag: it decides the graph.')
      training = static
    return bool(training)

  def call(self, inputs, training=None, output_range=None):
    """Runs the encoder.

    Args:
      inputs: Dict of input_word_ids (or input_word_embeddings), input_mask,
        input_type_ids.
      training: Dropout flag; tokens are dropped only if it is true inside
        `token_dropping()`.
      output_range: If set, `sequence_output` (and the last layer's entry of
        `encoder_outputs`) covers positions [0, output_range) only, as in
        BertEncoderV2's constructor argument of that name, which it
        overrides.

    Returns:
      BertEncoderV2's output dict; while dropping, also
      `token_drop_kept_positions` [batch, keep_k] and `token_drop_importance`
      [batch, seq].
    """
    embeddings, attention_mask = bert_base.embed(self, inputs, training)
    word_ids = inputs.get('input_word_ids', None)
    mask = inputs['input_mask']
    if output_range is None:
      output_range = compat.encoder_output_range(self)
    num_layers = len(self.transformer_layers)

    drops = self._drops(training)
    if drops and word_ids is None:
      raise ValueError(
          'TokenDropBertEncoder drops tokens by the importance of their '
          'vocabulary ids and needs `input_word_ids` in training; got '
          'input_word_embeddings only.')
    first_full_after = self._drop_end if drops else num_layers
    encoder_outputs = []
    x = embeddings
    for i in range(self._drop_start if drops else num_layers):
      x = self._call_full_layer(i, x, attention_mask, output_range, training)
      encoder_outputs.append(x)

    extra_outputs = {}
    if drops:
      x, kept, importance = self._call_drop_layers(
          x, word_ids, mask, encoder_outputs, training)
      if first_full_after == num_layers and output_range is not None:
        # The last layer dropped: cut its rejoined output to the range.
        x = x[:, :output_range]
        encoder_outputs[-1] = x
      extra_outputs = {
          'token_drop_kept_positions': kept,
          'token_drop_importance': importance,
      }

    for i in range(first_full_after, num_layers):
      x = self._call_full_layer(i, x, attention_mask, output_range, training)
      encoder_outputs.append(x)

    pooled_output = self.pooler_layer(x[:, 0, :])
    outputs = dict(
        sequence_output=x,
        pooled_output=pooled_output,
        encoder_outputs=encoder_outputs)
    if compat.encoder_config(self)['return_word_embeddings']:
      outputs['word_embeddings'] = embeddings
    outputs.update(extra_outputs)
    return outputs

  def _call_full_layer(self, i, x, attention_mask, output_range, training):
    last = i == len(self.transformer_layers) - 1
    layer_range = output_range if last else None
    return self.transformer_layers[i]([x, attention_mask],
                                       output_range=layer_range,
                                       training=training)

  def _call_drop_layers(self, x, word_ids, mask, encoder_outputs, training):
    """Runs layers [start, end) on the kept positions; rejoins the rest.

    Args:
      x: [batch, seq, hidden] input of layer `start` (pre-drop states).
      word_ids: [batch, seq] ids.
      mask: [batch, seq] input mask.
      encoder_outputs: list to append each layer's full-length output to (the
        dropped positions hold their pre-drop state).
      training: Dropout flag.

    Returns:
      (full-length output of layer end - 1, kept positions [batch, k],
      importance of each position [batch, seq]).
    """
    importance = self.token_importance(word_ids)
    kept = self._token_selector(importance, word_ids, mask)
    pre_drop = x

    def rejoin(x_kept):
      # Dropped positions keep the state they had entering layer `start`.
      return positions.scatter_positions(pre_drop, kept, x_kept)

    x_kept = tf.gather(x, kept, batch_dims=1)
    mask_kept = tf.gather(mask, kept, batch_dims=1)
    # Layer `start`: kept queries attend to every (unpadded) position.
    cross_mask = compat.encoder_attention_mask_layer(self)(x_kept, mask)
    x_kept = self.transformer_layers[self._drop_start](
        [x_kept, x, cross_mask], training=training)
    encoder_outputs.append(rejoin(x_kept))
    kept_mask = compat.encoder_attention_mask_layer(self)(x_kept, mask_kept)
    for i in range(self._drop_start + 1, self._drop_end):
      x_kept = self.transformer_layers[i]([x_kept, kept_mask],
                                           training=training)
      encoder_outputs.append(rejoin(x_kept))
    return encoder_outputs[-1], kept, importance

  def get_config(self):
    return dict(compat.encoder_config(self))


@dataclasses.dataclass
class TokenDropBertEncoderConfig(encoders.BertEncoderConfig):
  """`BertEncoderConfig` plus token dropping; used as `encoder.any`.

  Field names match tfm's official/projects/token_dropping YAML.
  """
  token_loss_init_value: float = 10.0
  token_loss_beta: float = 0.995
  token_keep_k: int = 256
  token_allow_list: Tuple[int, ...] = (100, 101, 102, 103)
  token_deny_list: Tuple[int, ...] = (0,)
  token_drop_start_layer: Optional[int] = None
  token_drop_end_layer: Optional[int] = None


@base_config.bind(TokenDropBertEncoderConfig)
def build_token_drop_bert_encoder(
    config: TokenDropBertEncoderConfig) -> TokenDropBertEncoder:
  """Builds the encoder from its config (tfm's `encoder.type: any` hook).

  Args:
    config: A `TokenDropBertEncoderConfig`.

  Returns:
    A `TokenDropBertEncoder`.
  """
  return TokenDropBertEncoder(
      **bert_base.bert_encoder_kwargs(config),
      token_keep_k=config.token_keep_k,
      token_allow_list=tuple(config.token_allow_list),
      token_deny_list=tuple(config.token_deny_list),
      token_loss_init_value=config.token_loss_init_value,
      token_loss_beta=config.token_loss_beta,
      token_drop_start_layer=config.token_drop_start_layer,
      token_drop_end_layer=config.token_drop_end_layer)
