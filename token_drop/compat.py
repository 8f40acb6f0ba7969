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

"""The one seam to private attributes of tfm, tf_keras and orbit.

Every read or write of a private (`_name`) attribute of an object that this
package does not define goes through a function here, and each function says
why there is no public way. Where tfm has a public property
(`BertEncoderV2.transformer_layers`, `pooler_layer`, `get_embedding_table()`,
`get_embedding_layer()`, `get_config()`), the package uses it directly.

`PRIVATE_ATTRIBUTES` lists, per class, the private names read here (and the
private methods this package overrides); `tests/test_compat.py` checks that
each still exists on the installed versions, so that an upgrade of tfm or
tf_keras fails in one obvious place rather than deep inside a training run.
"""

import collections
from typing import Any, Callable, Dict, List, Optional, Sequence

import tensorflow as tf
import yaml

from official.core import exp_factory
from official.modeling.hyperparams import params_dict
from tensorflow.core.protobuf import trackable_object_graph_pb2

# Class name -> private attributes (or overridden private methods) used here.
PRIVATE_ATTRIBUTES = {
    # official.nlp.modeling.networks.BertEncoderV2 (instances).
    'BertEncoderV2': (
        '_embedding_layer', '_get_embeddings', '_embedding_norm_layer',
        '_embedding_dropout', '_embedding_projection', '_attention_mask_layer',
        '_position_embedding_layer', '_type_embedding_layer', '_config',
        '_output_range'),
    # official.nlp.modeling.layers.PositionEmbedding (instances).
    'PositionEmbedding': ('_position_embeddings',),
    # official.nlp.modeling.layers.TransformerEncoderBlock (built instances).
    'TransformerEncoderBlock': (
        '_attention_layer', '_norm_first', '_attention_layer_norm',
        '_attention_dropout', '_intermediate_dense',
        '_intermediate_activation_layer', '_inner_dropout_layer',
        '_output_dense', '_output_dropout', '_output_layer_norm',
        # Settings read by `block_setting` (encoders/narrow_bert.py).
        '_use_query_residual', '_diff_q_kv_att_layer_norm', '_linformer_dim',
        '_output_last_dim', '_output_range', '_use_rms_norm',
        '_use_sigmoid_attn', '_num_kv_heads', '_src_block_size',
        '_tgt_block_size'),
    # tf_keras.layers.MultiHeadAttention (built instances).
    'MultiHeadAttention': ('_query_dense', '_key_dense', '_value_dense',
                           '_output_dense', '_key_dim'),
    # tf_keras.layers.Layer (instances).
    'Layer': ('_setattr_tracking',),
    # tf_keras.optimizers.Adam (new-style optimizers, built instances).
    'Optimizer': ('_built', '_index_dict', '_var_key', '_momentums',
                  '_velocities'),
    # tf_keras.optimizers.legacy.Adam (built instances).
    'LegacyOptimizer': ('_slots',),
    # official.modeling.hyperparams.params_dict (module).
    'params_dict': ('_LOADER',),
    # official.modeling.hyperparams.ParamsDict (instances).
    'ParamsDict': ('_restrictions',),
    # official.core.exp_factory (module): the experiment registry.
    'exp_factory': ('_REGISTERED_CONFIGS',),
    # official.core.base_trainer.Trainer (read by its `checkpoint` property).
    'Trainer': ('_checkpoint',),
    # orbit.Controller (methods overridden by core.trainer.Controller).
    'Controller': ('_train_n_steps',),
}

# The key under which a tf.train.Checkpoint stores its object graph.
OBJECT_GRAPH_KEY = '_CHECKPOINTABLE_OBJECT_GRAPH'

# pylint: disable=protected-access


def _private_fields(kind, obj, attributes: Dict[str, str],
                    optional: Sequence[str] = ()):
  """A `kind` namedtuple of `obj`'s private attributes.

  Args:
    kind: A namedtuple class whose fields are the keys of `attributes`.
    obj: The object read.
    attributes: Field -> attribute name (listed in PRIVATE_ATTRIBUTES).
    optional: Fields left None where `obj` lacks the attribute.

  Returns:
    The namedtuple.
  """
  return kind(**{
      field: getattr(obj, name, None) if field in optional else
      getattr(obj, name) for field, name in attributes.items()})

# ---------------------------------------------------------------------------
# BertEncoderV2.


def encoder_config(encoder) -> Dict[str, Any]:
  """The constructor-argument dict of a BertEncoderV2, itself (not a copy).

  Why private: `get_config()` returns a copy; subclasses that add their own
  constructor arguments must extend the dict BertEncoderV2 keeps, so that
  `get_config()`/`from_config()` round-trip them, and read its flags
  (`return_word_embeddings`, `return_attention_scores`) in `call`.

  Args:
    encoder: A BertEncoderV2 (or subclass).

  Returns:
    The encoder's `_config` dict.
  """
  return encoder._config


def encoder_output_range(encoder) -> Optional[int]:
  """BertEncoderV2's `output_range` constructor argument.

  Why private: it is only kept as `_output_range` (and in `_config`, whose
  copy `get_config()` returns on every call); subclasses re-implementing
  `call` need it for their last layer.
  """
  return encoder._output_range


def encoder_attention_mask_layer(encoder):
  """The SelfAttentionMask layer of a BertEncoderV2.

  Why private: BertEncoderV2 does not expose it; subclasses that re-implement
  `call` (token dropping, narrow layers) build their masks with it.
  """
  return encoder._attention_mask_layer


_EMBEDDING_SUBLAYERS = dict(
    word='_embedding_layer', position='_position_embedding_layer',
    type='_type_embedding_layer', norm='_embedding_norm_layer',
    dropout='_embedding_dropout', projection='_embedding_projection')
EmbeddingSublayers = collections.namedtuple('EmbeddingSublayers',
                                            list(_EMBEDDING_SUBLAYERS))


def encoder_embedding_sublayers(encoder) -> EmbeddingSublayers:
  """The embedding sublayers of a BertEncoderV2 (projection may be None).

  Why private: only the word embedding layer is public
  (`get_embedding_layer()`); the position and type embeddings, LayerNorm,
  dropout and projection are needed to re-implement the embedding part of
  `call` and to map weights to Hugging Face BERT names.

  Args:
    encoder: A BertEncoderV2 (or subclass).

  Returns:
    An `EmbeddingSublayers`.
  """
  # tfm's functional BertEncoder (`type: bert`) has no `_embedding_dropout`;
  # BertEncoderV2 has a projection only with an embedding_width.
  return _private_fields(EmbeddingSublayers, encoder, _EMBEDDING_SUBLAYERS,
                         optional=('dropout', 'projection'))


def encoder_sum_embeddings(encoder, word_ids, type_ids, word_embeddings):
  """Word + position + type embeddings, as BertEncoderV2's `call` sums them.

  Why private: BertEncoderV2's `call` runs the embeddings and every layer at
  once; `_get_embeddings` is its only entry to the embedding part alone.

  Args:
    encoder: A BertEncoderV2 (or subclass).
    word_ids: [batch, seq] ids (may be None when `word_embeddings` is given).
    type_ids: [batch, seq] segment ids.
    word_embeddings: [batch, seq, width] word embeddings, or None to look up
      `word_ids`.

  Returns:
    [batch, seq, width] summed embeddings (before LayerNorm and dropout).
  """
  return encoder._get_embeddings(word_ids, type_ids, word_embeddings, None,
                                 None)


def position_embedding_table(position_layer):
  """The [max_length, width] variable of a tfm PositionEmbedding layer.

  Why private: PositionEmbedding keeps its table as `_position_embeddings`
  with no accessor; weight import/export maps it by name.
  """
  return position_layer._position_embeddings


# ---------------------------------------------------------------------------
# TransformerEncoderBlock and MultiHeadAttention.

_BLOCK_SUBLAYERS = dict(
    attention='_attention_layer', norm_first='_norm_first',
    attention_norm='_attention_layer_norm',
    attention_dropout='_attention_dropout',
    intermediate_dense='_intermediate_dense',
    intermediate_activation='_intermediate_activation_layer',
    inner_dropout='_inner_dropout_layer', output_dense='_output_dense',
    output_dropout='_output_dropout', output_norm='_output_layer_norm')
BlockSublayers = collections.namedtuple('BlockSublayers',
                                        list(_BLOCK_SUBLAYERS))


def block_sublayers(block) -> BlockSublayers:
  """The sublayers of a built tfm TransformerEncoderBlock.

  Why private: the block's `call` runs attention and feed-forward together;
  NarrowBERT's context_first mode runs the halves separately, distillation
  needs the pre-softmax attention scores, and weight import/export maps
  each kernel. TransformerEncoderBlock exposes none of its sublayers.

  Args:
    block: A built TransformerEncoderBlock.

  Returns:
    A `BlockSublayers`.
  """
  return _private_fields(BlockSublayers, block, _BLOCK_SUBLAYERS)


def block_setting(block, name: str, default: Any) -> Any:
  """A constructor setting of a TransformerEncoderBlock, kept as `_<name>`.

  Why private: the block keeps its settings (use_query_residual,
  linformer_dim, ...) as private attributes; `get_config()` serialises the
  layer objects too, and is not defined for every setting in every version.

  Args:
    block: A TransformerEncoderBlock.
    name: The setting's attribute name without the leading underscore.
    default: Returned if the installed block has no such attribute.

  Returns:
    The setting's value.
  """
  return getattr(block, '_' + name, default)


_ATTENTION_SUBLAYERS = dict(
    query='_query_dense', key='_key_dense', value='_value_dense',
    output='_output_dense', key_dim='_key_dim')
AttentionSublayers = collections.namedtuple('AttentionSublayers',
                                            list(_ATTENTION_SUBLAYERS))


def attention_sublayers(attention) -> AttentionSublayers:
  """Query/key/value/output projections and key_dim of a built MHA layer.

  Why private: tf_keras MultiHeadAttention returns at most the softmax
  probabilities; distillation needs the pre-softmax scores, and weight
  import/export maps each projection. No projection has an accessor.

  Args:
    attention: A built tf_keras.layers.MultiHeadAttention.

  Returns:
    An `AttentionSublayers`.
  """
  return _private_fields(AttentionSublayers, attention,
                         _ATTENTION_SUBLAYERS)


# ---------------------------------------------------------------------------
# Keras layers.


def set_untracked_attribute(layer, name: str, value: Any) -> None:
  """Sets `layer.<name> = value` without Keras/trackable wrapping.

  Why private: Keras wraps dicts assigned to a layer into a tracked
  `_DictWrapper`; tf.saved_model cannot trace one as a functional model's
  `inputs` (tfm's BertClassifier takes its save signature from them).
  Keras' own way out is `_setattr_tracking`, as tfm's BertEncoderV2 uses it
  for its config.

  Args:
    layer: A tf_keras layer.
    name: Attribute name.
    value: Value to set untracked.
  """
  layer._setattr_tracking = False
  try:
    setattr(layer, name, value)
  finally:
    layer._setattr_tracking = True


# ---------------------------------------------------------------------------
# tf_keras optimizers.


def legacy_optimizer_has_slots(optimizer) -> bool:
  """Whether a legacy tf_keras optimizer has created any slot variables.

  Why private: legacy optimizers create the slots of every variable at once
  but expose no flag for it; `get_slot` raises KeyError for any missing one.
  """
  return bool(getattr(optimizer, '_slots', None))


def optimizer_is_built(optimizer) -> bool:
  """Whether a new-style tf_keras optimizer has built its slot variables.

  Why private: `build()` is public but its done-flag is `_built`.
  """
  return bool(getattr(optimizer, '_built', False))


def optimizer_slot_lists(optimizer, variable) -> Optional[Dict[str, List]]:
  """The per-variable state of `variable` in a new-style tf_keras optimizer.

  Why private: new-style tf_keras optimizers (Adam, AdamW, SGD, ...) keep
  their slots in private lists indexed through `_index_dict[_var_key(v)]`,
  with no public accessor (the legacy `get_slot` is gone).

  Args:
    optimizer: A built new-style tf_keras optimizer (not a wrapper).
    variable: A variable it updates.

  Returns:
    None if `variable` is not in the optimizer's index; else a dict
    {slot list name: slot variable of `variable`} over the known slot lists
    the optimizer holds (empty for optimizers without per-weight state, or
    whose slots are kept under other names).
  """
  if not hasattr(optimizer, '_var_key'):
    return None
  index = getattr(optimizer, '_index_dict', {}).get(
      optimizer._var_key(variable))
  if index is None:
    return None
  return {a: getattr(optimizer, a)[index]
          for a in ('_momentums', '_velocities', 'momentums')
          if getattr(optimizer, a, None)}


def optimizer_moving_average_variables(optimizer) -> List:
  """The EMA copies a new-style tf_keras optimizer keeps (use_ema=True).

  Why private: they are among `optimizer.variables` with no public list of
  their own.
  """
  return list(getattr(optimizer, '_model_variables_moving_average', None)
              or [])


# ---------------------------------------------------------------------------
# tfm configs and trainer.


def yaml_load(stream) -> Any:
  """Parses YAML text or a file object as tfm's config loader does.

  Why private: tfm's loader (`params_dict._LOADER`: FullLoader reading `1e-4`
  as a float) has public wrappers only for whole files into a ParamsDict
  (`read_yaml_to_params_dict`) or for overriding one; overrides given as
  strings and files checked key by key need the plain parsed value.
  """
  return yaml.load(stream, Loader=params_dict._LOADER)


def config_restrictions(config) -> List[str]:
  """The `restrictions` a tfm Config was constructed with.

  Why private: `restrictions` is an `InitVar` of tfm's Config dataclass, kept
  only as ParamsDict's `_restrictions`; copying a config into another
  ExperimentConfig class must carry them over.
  """
  return list(getattr(config, '_restrictions', None) or [])


def registered_config_factories() -> Dict[str, Any]:
  """The experiment registry of tfm: names (nested dicts) to factories.

  Why private: `exp_factory` has public lookup (`get_exp_config`) and
  registration, but no listing of the registered names; an unknown
  `--experiment` error lists them.
  """
  return exp_factory._REGISTERED_CONFIGS


def replace_config_factory(name: str, factory: Callable[[], Any]
                           ) -> Callable[[], Any]:
  """Registers `factory` as the experiment `name`, in place of the current one.

  Why private: `exp_factory.register_config_factory` refuses a name that is
  registered (tfm's `registry.register` raises KeyError) and there is no
  unregister, yet `--experiment=bert/pretraining` must keep its name while
  building this package's extension of tfm's config
  (`experiments/tfm_bert.py`).

  Args:
    name: A registered experiment name, e.g. `bert/pretraining`.
    factory: The new config factory.

  Returns:
    The factory registered before.

  Raises:
    KeyError: `name` is not registered.
  """
  *parents, leaf = name.split('/')
  collection = exp_factory._REGISTERED_CONFIGS
  for parent in parents:
    collection = collection[parent]
  previous = collection[leaf]
  collection[leaf] = factory
  return previous


def set_trainer_checkpoint(trainer, checkpoint) -> None:
  """Replaces the `tf.train.Checkpoint` of a tfm `base_trainer.Trainer`.

  Why private: base_trainer.Trainer builds its checkpoint (global_step,
  model, optimizer) in `__init__` and exposes it through a read-only
  `checkpoint` property; items saved beside them (the training clock,
  a task's extra tables) need a checkpoint built by the subclass.

  Args:
    trainer: A base_trainer.Trainer.
    checkpoint: The `tf.train.Checkpoint` its `checkpoint` property returns.
  """
  trainer._checkpoint = checkpoint


def checkpoint_root_names(checkpoint_path: str) -> List[str]:
  """Names of the root objects of a tf.train.Checkpoint (e.g. encoder, model).

  Why not public: tf.train has no listing of a checkpoint's object graph;
  `tf.train.list_variables` gives variable keys only (a root item without
  variables would be missed). The graph is a TrackableObjectGraph proto
  stored under `OBJECT_GRAPH_KEY`, whose class lives in
  `tensorflow.core.protobuf` (outside tf's public API).

  Args:
    checkpoint_path: A checkpoint file prefix.

  Returns:
    The local names of the root's children.
  """
  reader = tf.train.load_checkpoint(checkpoint_path)
  graph = trackable_object_graph_pb2.TrackableObjectGraph()
  graph.ParseFromString(reader.get_tensor(OBJECT_GRAPH_KEY))
  return [child.local_name for child in graph.nodes[0].children]
