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

"""One mapping between Hugging Face BERT tensors and tfm's BertEncoderV2.

Both `import_hf` and `export_hf` use this module, so the name and layout rules
live in one place:

* Hugging Face stores `torch.nn.Linear` weights as [out, in]; tfm's Dense and
  EinsumDense kernels are [in, ...out] and the attention projections are split
  per head ([hidden, heads, head_size] for query/key/value, [heads, head_size,
  hidden] for the attention output). A mapping entry records how many leading
  axes of the tfm kernel are input axes; the conversion is then a transpose
  plus a row-major reshape in either direction.
* Hugging Face `hidden_act: gelu` is the exact erf GELU, which tfm's `gelu`
  (tanh approximation) is not: it maps to `gelu_exact`
  (`token_drop.layers.gelu_exact`), and tfm's `gelu` maps to HF `gelu_new`.
* The MLM head (`cls.predictions.*`) maps to tfm's `layers.MaskedLM`; its
  decoder weight is tied to the word embeddings on both sides.
"""

import dataclasses
from typing import Any, Dict, List, Optional

import numpy as np
import tensorflow as tf
import tf_keras

from official.modeling import tf_utils
from official.nlp.configs import encoders
from official.nlp.modeling import layers
from official.nlp.modeling import networks
from token_drop import compat
from token_drop.core import errors
from token_drop.layers import gelu_exact  # pylint: disable=unused-import

# Hugging Face hidden_act -> tfm hidden_activation.
HF_TO_TFM_ACTIVATION = {
    'gelu': gelu_exact.NAME,
    'gelu_new': 'gelu',
    'gelu_pytorch_tanh': 'gelu',
    'relu': 'relu',
}
# tfm hidden_activation -> Hugging Face hidden_act.
TFM_TO_HF_ACTIVATION = {
    gelu_exact.NAME: 'gelu',
    'token_drop>gelu_exact': 'gelu',
    'gelu': 'gelu_new',
    'relu': 'relu',
}
LAYER_NORM_EPS = 1e-12  # Fixed in BertEncoderV2 and TransformerEncoderBlock.
MLM_PREFIX = 'cls.predictions.'
BASE_PREFIX = 'bert.'


class WeightMappingError(errors.UserError):
  """A config or tensor cannot be mapped between the two formats."""


@dataclasses.dataclass
class Entry:
  """One Hugging Face tensor and the tfm variable holding it.

  Attributes:
    hf_name: Tensor name in a Hugging Face BertModel state dict (no `bert.`).
    variable: The tfm variable.
    in_axes: For kernels, the number of leading input axes of the tfm kernel;
      None for tensors copied as they are (embeddings, norms, biases).
  """
  hf_name: str
  variable: tf.Variable
  in_axes: Optional[int] = None

  def to_tf(self, array: np.ndarray) -> np.ndarray:
    shape = tuple(self.variable.shape)
    array = np.asarray(array, dtype=np.float32)
    if self.in_axes is not None:
      array = array.T
    return array.reshape(shape)

  def to_hf(self, value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, dtype=np.float32)
    if self.in_axes is None:
      return value.reshape(-1) if self.hf_name.endswith('bias') else value
    rows = int(np.prod(value.shape[:self.in_axes]))
    return np.ascontiguousarray(value.reshape(rows, -1).T)

  def hf_shape(self):
    return self.to_hf(np.zeros(self.variable.shape, np.float32)).shape


def _require(hf_config: Dict[str, Any], key: str, source: str):
  if key not in hf_config:
    raise WeightMappingError(f'{source}: required field {key!r} is missing.')
  return hf_config[key]


def encoder_config_from_hf(hf_config: Dict[str, Any],
                           source: str = 'config.json'
                          ) -> encoders.BertEncoderConfig:
  """The tfm `bert` encoder config equivalent to a Hugging Face BertConfig.

  Args:
    hf_config: The parsed config.json.
    source: Name of the file, for error messages.

  Returns:
    A `BertEncoderConfig`.

  Raises:
    WeightMappingError: the config is not a BERT config this mapping supports.
  """
  model_type = hf_config.get('model_type')
  architectures = hf_config.get('architectures') or []
  if model_type is None and architectures and all(
      a.startswith('Bert') for a in architectures):
    model_type = 'bert'  # Configs written before model_type existed.
  if model_type != 'bert':
    raise WeightMappingError(
        f'{source}: model_type={model_type!r} (architectures={architectures})'
        ' is not supported; only BERT checkpoints (model_type "bert") map to '
        'BertEncoderV2.')
  act = hf_config.get('hidden_act', 'gelu')
  if act not in HF_TO_TFM_ACTIVATION:
    raise WeightMappingError(
        f'{source}: hidden_act={act!r} is not supported; supported: '
        f'{sorted(HF_TO_TFM_ACTIVATION)}.')
  position_type = hf_config.get('position_embedding_type', 'absolute')
  if position_type != 'absolute':
    raise WeightMappingError(
        f'{source}: position_embedding_type={position_type!r} is not '
        'supported; BertEncoderV2 has absolute position embeddings only.')
  eps = float(hf_config.get('layer_norm_eps', LAYER_NORM_EPS))
  if not np.isclose(eps, LAYER_NORM_EPS, rtol=1e-3, atol=0):
    raise WeightMappingError(
        f'{source}: layer_norm_eps={eps} is not supported; BertEncoderV2 uses '
        f'{LAYER_NORM_EPS}.')
  for flag in ('is_decoder', 'add_cross_attention'):
    if hf_config.get(flag):
      raise WeightMappingError(
          f'{source}: {flag}=true is not supported (encoder-only BERT).')
  hidden = int(_require(hf_config, 'hidden_size', source))
  heads = int(_require(hf_config, 'num_attention_heads', source))
  if hidden % heads:
    raise WeightMappingError(
        f'{source}: hidden_size={hidden} is not a multiple of '
        f'num_attention_heads={heads}.')
  return encoders.BertEncoderConfig(
      vocab_size=int(_require(hf_config, 'vocab_size', source)),
      hidden_size=hidden,
      num_layers=int(_require(hf_config, 'num_hidden_layers', source)),
      num_attention_heads=heads,
      hidden_activation=HF_TO_TFM_ACTIVATION[act],
      intermediate_size=int(_require(hf_config, 'intermediate_size', source)),
      dropout_rate=float(hf_config.get('hidden_dropout_prob', 0.1)),
      attention_dropout_rate=float(
          hf_config.get('attention_probs_dropout_prob', 0.1)),
      max_position_embeddings=int(
          hf_config.get('max_position_embeddings', 512)),
      type_vocab_size=int(hf_config.get('type_vocab_size', 2)),
      initializer_range=float(hf_config.get('initializer_range', 0.02)))


def hf_config_from_encoder_config(config: encoders.BertEncoderConfig,
                                  with_mlm_head: bool) -> Dict[str, Any]:
  """The Hugging Face config.json for a tfm `bert` encoder config.

  Args:
    config: A `BertEncoderConfig`.
    with_mlm_head: Whether the export carries the MLM head (decides the
      `architectures` entry).

  Returns:
    The config.json contents.

  Raises:
    WeightMappingError: the config has a feature Hugging Face BERT lacks.
  """
  check_exportable(config)
  return {
      'architectures': ['BertForMaskedLM' if with_mlm_head else 'BertModel'],
      'model_type': 'bert',
      'vocab_size': config.vocab_size,
      'hidden_size': config.hidden_size,
      'num_hidden_layers': config.num_layers,
      'num_attention_heads': config.num_attention_heads,
      'intermediate_size': config.intermediate_size,
      'hidden_act': TFM_TO_HF_ACTIVATION[config.hidden_activation.lower()],
      'hidden_dropout_prob': config.dropout_rate,
      'attention_probs_dropout_prob': config.attention_dropout_rate,
      'max_position_embeddings': config.max_position_embeddings,
      'type_vocab_size': config.type_vocab_size,
      'initializer_range': config.initializer_range,
      'layer_norm_eps': LAYER_NORM_EPS,
      'pad_token_id': 0,
      'position_embedding_type': 'absolute',
      'use_cache': True,
      'classifier_dropout': None,
  }


def check_exportable(config: encoders.BertEncoderConfig) -> None:
  """Raises `WeightMappingError` for settings Hugging Face BERT cannot hold."""
  if config.embedding_size and config.embedding_size != config.hidden_size:
    raise WeightMappingError(
        f'encoder embedding_size={config.embedding_size} differs from '
        f'hidden_size={config.hidden_size}: Hugging Face BERT has no embedding '
        'projection.')
  if config.norm_first:
    raise WeightMappingError(
        'encoder norm_first=true (pre-LN) is not supported: Hugging Face BERT '
        'is post-LN.')
  if config.hidden_activation.lower() not in TFM_TO_HF_ACTIVATION:
    raise WeightMappingError(
        f'encoder hidden_activation={config.hidden_activation!r} has no '
        f'Hugging Face equivalent; supported: {sorted(TFM_TO_HF_ACTIVATION)}.')


def build_encoder(config: encoders.BertEncoderConfig
                 ) -> networks.BertEncoderV2:
  """Builds a BertEncoderV2 (through tfm's factory) with its variables."""
  encoder = encoders.build_encoder(
      encoders.EncoderConfig(type='bert', bert=config))
  ids = tf.zeros((1, 2), tf.int32)
  encoder(dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
               input_type_ids=ids))
  return encoder


def build_masked_lm(encoder: networks.BertEncoderV2,
                    activation: str) -> layers.MaskedLM:
  """Makes tfm's MLM head on `encoder`'s embedding table, with its variables."""
  masked_lm = layers.MaskedLM(
      embedding_table=encoder.get_embedding_table(),
      activation=tf_utils.get_activation(activation),
      initializer=tf_keras.initializers.TruncatedNormal(stddev=0.02),
      name='cls/predictions')
  hidden = encoder.get_embedding_table().shape[-1]
  masked_lm(tf.zeros((1, 2, hidden)), masked_positions=tf.zeros((1, 1),
                                                                tf.int32))
  return masked_lm


def copy_dense(layer: tf_keras.layers.Dense) -> tf_keras.layers.Dense:
  """A built Dense layer holding a copy of `layer`'s kernel and bias."""
  copy = tf_keras.layers.Dense(layer.units, activation=layer.activation,
                               name=layer.name)
  copy.build((None, layer.kernel.shape[0]))
  copy.set_weights(layer.get_weights())
  return copy


def _dense(prefix: str, layer, in_axes: int = 1) -> List[Entry]:
  return [Entry(prefix + 'weight', layer.kernel, in_axes),
          Entry(prefix + 'bias', layer.bias)]


def _norm(prefix: str, layer) -> List[Entry]:
  return [Entry(prefix + 'weight', layer.gamma),
          Entry(prefix + 'bias', layer.beta)]


def encoder_entries(encoder: networks.BertEncoderV2,
                    with_pooler: bool = True) -> List[Entry]:
  """The BertModel tensors (no `bert.` prefix) of a built BertEncoderV2."""
  embedding = compat.encoder_embedding_sublayers(encoder)
  if embedding.projection is not None:
    raise WeightMappingError(
        'the encoder has an embedding projection (embedding_size != '
        'hidden_size), which Hugging Face BERT does not have.')
  entries = [
      Entry('embeddings.word_embeddings.weight',
            encoder.get_embedding_layer().embeddings),
      Entry('embeddings.position_embeddings.weight',
            compat.position_embedding_table(embedding.position)),
      Entry('embeddings.token_type_embeddings.weight',
            embedding.type.embeddings),
  ] + _norm('embeddings.LayerNorm.', embedding.norm)
  for i, block in enumerate(encoder.transformer_layers):
    p = f'encoder.layer.{i}.'
    parts = compat.block_sublayers(block)
    attention = compat.attention_sublayers(parts.attention)
    entries += _dense(p + 'attention.self.query.', attention.query)
    entries += _dense(p + 'attention.self.key.', attention.key)
    entries += _dense(p + 'attention.self.value.', attention.value)
    entries += _dense(p + 'attention.output.dense.', attention.output,
                      in_axes=2)
    entries += _norm(p + 'attention.output.LayerNorm.', parts.attention_norm)
    entries += _dense(p + 'intermediate.dense.', parts.intermediate_dense)
    entries += _dense(p + 'output.dense.', parts.output_dense)
    entries += _norm(p + 'output.LayerNorm.', parts.output_norm)
  if with_pooler:
    entries += _dense('pooler.dense.', encoder.pooler_layer)
  return entries


def masked_lm_entries(masked_lm: layers.MaskedLM) -> List[Entry]:
  """The `cls.predictions.*` tensors of a built MaskedLM (decoder tied)."""
  return (_dense(MLM_PREFIX + 'transform.dense.', masked_lm.dense) +
          _norm(MLM_PREFIX + 'transform.LayerNorm.', masked_lm.layer_norm) +
          [Entry(MLM_PREFIX + 'bias', masked_lm.bias)])


def normalize_hf_names(tensors: Dict[str, np.ndarray]
                      ) -> Dict[str, np.ndarray]:
  """Strips the `bert.` prefix and renames TF1-era LayerNorm gamma/beta."""
  out = {}
  for name, value in tensors.items():
    if name.startswith(BASE_PREFIX):
      name = name[len(BASE_PREFIX):]
    if 'LayerNorm.' in name:
      name = name.replace('LayerNorm.gamma', 'LayerNorm.weight').replace(
          'LayerNorm.beta', 'LayerNorm.bias')
    out[name] = value
  return out


def assign_from_hf(entries: List[Entry], tensors: Dict[str, np.ndarray],
                   source: str) -> None:
  """Assigns HF tensors to the tfm variables, checking names and shapes.

  Args:
    entries: Mapping entries (from `encoder_entries` / `masked_lm_entries`).
    tensors: Normalized HF tensors (see `normalize_hf_names`).
    source: The file the tensors came from, for error messages.

  Raises:
    WeightMappingError: a tensor is missing or has the wrong shape.
  """
  for entry in entries:
    if entry.hf_name not in tensors:
      raise WeightMappingError(
          f'{source}: missing tensor {entry.hf_name!r} (nor '
          f'{BASE_PREFIX + entry.hf_name!r}).')
    value = tensors[entry.hf_name]
    if tuple(value.shape) != tuple(entry.hf_shape()):
      raise WeightMappingError(
          f'{source}: tensor {entry.hf_name!r} has shape {tuple(value.shape)} '
          f'but config.json implies {tuple(entry.hf_shape())}.')
    entry.variable.assign(entry.to_tf(value))


def export_tensors(entries: List[Entry], prefix: str = ''
                  ) -> Dict[str, np.ndarray]:
  """The HF state dict of `entries`, names prefixed by `prefix`."""
  out = {}
  for entry in entries:
    name = entry.hf_name
    if not name.startswith(MLM_PREFIX):
      name = prefix + name
    out[name] = entry.to_hf(entry.variable.numpy())
  return out
