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

"""What the encoders of this package share as BertEncoderV2 subclasses.

The token-dropping and narrow encoders subclass tfm's BertEncoderV2 (so that
their variables and checkpoints are BERT's) and their configs subclass tfm's
BertEncoderConfig. This module maps the config fields to the constructor
once, as tfm's `encoders.build_encoder` does for `type: bert`, and holds the
embedding part of BertEncoderV2's `call` that both run before their own
layer loops.
"""

from typing import Any, Dict, Mapping, Tuple

import tensorflow as tf

import tf_keras

from official.modeling import tf_utils
from official.nlp.configs import encoders
from token_drop import compat


def bert_encoder_kwargs(config: encoders.BertEncoderConfig) -> Dict[str, Any]:
  """Keyword arguments of `BertEncoderV2` for the fields of `config`.

  Args:
    config: A `BertEncoderConfig` (or a subclass).

  Returns:
    The keyword arguments.
  """
  return dict(
      vocab_size=config.vocab_size,
      hidden_size=config.hidden_size,
      num_layers=config.num_layers,
      num_attention_heads=config.num_attention_heads,
      inner_dim=config.intermediate_size,
      inner_activation=tf_utils.get_activation(config.hidden_activation),
      output_dropout=config.dropout_rate,
      attention_dropout=config.attention_dropout_rate,
      max_sequence_length=config.max_position_embeddings,
      type_vocab_size=config.type_vocab_size,
      initializer=tf_keras.initializers.TruncatedNormal(
          stddev=config.initializer_range),
      output_range=config.output_range,
      embedding_width=config.embedding_size,
      norm_first=config.norm_first,
      return_word_embeddings=config.return_word_embeddings,
      return_attention_scores=config.return_attention_scores)


def embed(encoder, inputs: Mapping[str, tf.Tensor], training=None
         ) -> Tuple[tf.Tensor, tf.Tensor]:
  """BertEncoderV2's embeddings and attention mask for `inputs`.

  Args:
    encoder: A BertEncoderV2 (or subclass).
    inputs: Dict with input_mask, input_type_ids and input_word_ids or
      input_word_embeddings (which, as in BertEncoderV2, replaces the word
      embedding lookup).
    training: Training flag of the embedding dropout.

  Returns:
    (embeddings [batch, seq, width], attention_mask [batch, seq, seq]).

  Raises:
    ValueError: for inputs that are not a dict, lack both word inputs, or
      carry `dense_inputs` (BertEncoderV2's `with_dense_inputs`, which these
      encoders do not support).
  """
  if not isinstance(inputs, dict):
    raise ValueError(f'Unexpected inputs type to {encoder.__class__}: '
                     f'{type(inputs)}; expected a dict.')
  if inputs.get('dense_inputs', None) is not None:
    raise ValueError(f'{encoder.__class__.__name__} does not support '
                     'dense_inputs (with_dense_inputs=True).')
  word_ids = inputs.get('input_word_ids', None)
  word_embeddings = inputs.get('input_word_embeddings', None)
  sublayers = compat.encoder_embedding_sublayers(encoder)
  if word_embeddings is None:
    if word_ids is None:
      raise ValueError(f'{encoder.__class__.__name__} needs input_word_ids '
                       'or input_word_embeddings.')
    word_embeddings = sublayers.word(word_ids)
  embeddings = compat.encoder_sum_embeddings(
      encoder, word_ids, inputs['input_type_ids'], word_embeddings)
  embeddings = sublayers.norm(embeddings)
  embeddings = sublayers.dropout(embeddings, training=training)
  if sublayers.projection is not None:
    embeddings = sublayers.projection(embeddings)
  attention_mask = compat.encoder_attention_mask_layer(encoder)(
      embeddings, inputs['input_mask'])
  return embeddings, attention_mask
