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

r"""Exports a BertEncoderV2 checkpoint in Hugging Face BERT format.

Usage:

  python -m token_drop.tools.export_hf --checkpoint=CKPT \
    --encoder_config=YAML --output_dir=DIR [--vocab_file=vocab.txt]

CKPT is a checkpoint file prefix or a folder (its latest checkpoint): any
checkpoint with an `encoder` item holding BertEncoderV2 variables, i.e. train.py
model_dir checkpoints of tfm's tasks (`bert/pretraining`, fine-tuning, and the
experiments of this package, whose models list `encoder` in their
`checkpoint_items`) and `import_hf` outputs. A `masked_lm` item, when present,
is exported as the MLM head.

YAML is a params.yaml of the run, an `encoder.yaml` from import_hf, or any YAML
with `task.model.encoder`, `encoder`, or the encoder's `{type, <type>: {...}}`.
Encoder types other than `bert` are accepted when their config has the BERT
fields (vocab_size, hidden_size, ...); the variables must be BertEncoderV2's.
Defaults: params.yaml or encoder.yaml next to the checkpoint.

DIR receives config.json, model.safetensors (`bert.`-prefixed with
`cls.predictions.*` when the MLM head is present, so that BertForMaskedLM and
BertModel both load it; unprefixed for BertModel otherwise), vocab.txt and
tokenizer_config.json. transformers is not needed to write them.
"""

import json
import os
import shutil
from typing import Any, Dict, List, Optional

from absl import flags
from absl import logging
from safetensors import numpy as safetensors_numpy
import tensorflow as tf

from official.nlp.configs import encoders
from token_drop import compat
from token_drop.core import checkpoints
from token_drop.core import errors
from token_drop.tools import bert_weights

_CONFIG_NAMES = ('params.yaml', 'encoder.yaml')


def resolve_checkpoint(checkpoint: str) -> str:
  """A checkpoint file prefix for a prefix or a folder."""
  return checkpoints.resolve_checkpoint(
      checkpoint, error=bert_weights.WeightMappingError)


def root_items(checkpoint_path: str) -> List[str]:
  """Names of the checkpoint's root objects (e.g. encoder, model)."""
  return compat.checkpoint_root_names(checkpoint_path)


def _read_yaml(path: str) -> Any:
  # tfm's loader: params.yaml files hold tags such as !!python/tuple.
  with tf.io.gfile.GFile(path) as f:
    return compat.yaml_load(f)


def _encoder_section(loaded: Any, source: str) -> Dict[str, Any]:
  section = loaded
  for key in ('task', 'model', 'encoder'):
    if isinstance(section, dict) and key in section:
      section = section[key]
  if not isinstance(section, dict):
    raise bert_weights.WeightMappingError(
        f'{source}: no encoder config (task.model.encoder) found.')
  return section


def load_encoder_config(path: str) -> encoders.BertEncoderConfig:
  """Reads the BERT encoder config from a YAML file (see the docstring).

  Args:
    path: The YAML file.

  Returns:
    A `BertEncoderConfig`.

  Raises:
    WeightMappingError: no encoder config, or one without the BERT fields.
  """
  if not tf.io.gfile.exists(path):
    raise bert_weights.WeightMappingError(
        f'encoder config {path!r} does not exist.')
  section = _encoder_section(_read_yaml(path), path)
  if 'type' in section:
    kind = section['type']
    if kind not in section or not isinstance(section[kind], dict):
      raise bert_weights.WeightMappingError(
          f'{path}: encoder type {kind!r} has no {kind!r} section.')
    fields = section[kind]
  else:
    kind, fields = 'bert', section
  known = encoders.BertEncoderConfig().as_dict()
  required = ('vocab_size', 'hidden_size', 'num_layers',
              'num_attention_heads', 'intermediate_size')
  missing = [k for k in required if k not in fields]
  if missing:
    raise bert_weights.WeightMappingError(
        f'{path}: encoder {kind!r} config lacks BERT field(s) {missing}; '
        'only BertEncoderV2-compatible encoders can be exported.')
  ignored = sorted(set(fields) - set(known))
  if ignored:
    logging.info('%s: encoder %r fields without a BERT counterpart, ignored: '
                 '%s', path, kind, ignored)
  return encoders.BertEncoderConfig(
      **{k: v for k, v in fields.items() if k in known})


def _params_value(path: str, *keys) -> Optional[Any]:
  value = _read_yaml(path)
  for key in keys:
    if not isinstance(value, dict) or key not in value:
      return None
    value = value[key]
  return value


def _default_file(checkpoint: str, names) -> Optional[str]:
  folder = checkpoint if tf.io.gfile.isdir(checkpoint) else os.path.dirname(
      checkpoint)
  for name in names:
    candidate = os.path.join(folder, name)
    if tf.io.gfile.exists(candidate):
      return candidate
  return None


def restore(checkpoint_path: str, config: encoders.BertEncoderConfig,
            mlm_activation: Optional[str] = None, with_mlm_head: bool = True,
            copy_pooler_dense_to_encoder: bool = False):
  """Rebuilds the encoder (and MLM head) and restores them.

  Args:
    checkpoint_path: A checkpoint file prefix.
    config: The encoder config the checkpoint was trained with.
    mlm_activation: Activation of the MLM head (default: the encoder's).
    with_mlm_head: Restore the `masked_lm` item when the checkpoint has one.
    copy_pooler_dense_to_encoder: Use the next-sentence head's pooler
      (`next_sentence.pooler_dense`, trained by NSP pretraining) as the
      encoder's pooler, like tfm's export_tfhub flag of the same name.

  Returns:
    (encoder, masked_lm or None).

  Raises:
    WeightMappingError: no `encoder` item, or variables that do not fit the
      config.
  """
  items = root_items(checkpoint_path)
  if 'encoder' not in items:
    raise bert_weights.WeightMappingError(
        f'{checkpoint_path}: no `encoder` item (root items: {items}); export '
        'reads checkpoints written with tf.train.Checkpoint(encoder=...), as '
        'train.py and import_hf write them.')
  encoder = bert_weights.build_encoder(config)
  try:
    status = tf.train.Checkpoint(encoder=encoder).read(checkpoint_path)
    status.expect_partial().assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
    raise bert_weights.WeightMappingError(
        f'{checkpoint_path}: the encoder variables do not fit the encoder '
        f'config ({config.num_layers} layers x {config.hidden_size}, vocab '
        f'{config.vocab_size}): {str(e)[:500]}') from None
  if copy_pooler_dense_to_encoder:
    name = 'next_sentence.pooler_dense'
    if name not in items:
      raise bert_weights.WeightMappingError(
          f'{checkpoint_path}: no {name} item to copy to the encoder pooler '
          f'(root items: {items}).')
    try:
      status = tf.train.Checkpoint(**{name: encoder.pooler_layer}).read(
          checkpoint_path)
      status.expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
      raise bert_weights.WeightMappingError(
          f'{checkpoint_path}: {name} does not fit the encoder pooler '
          f'({config.hidden_size} x {config.hidden_size}; the head\'s '
          f'inner_dim must equal hidden_size): {str(e)[:300]}') from None
  masked_lm = None
  if with_mlm_head and 'masked_lm' in items:
    masked_lm = bert_weights.build_masked_lm(
        encoder, mlm_activation or config.hidden_activation)
    try:
      status = tf.train.Checkpoint(masked_lm=masked_lm).read(checkpoint_path)
      status.expect_partial().assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
      logging.warning('%s: the masked_lm item is incomplete (%s); exporting '
                      'without the MLM head.', checkpoint_path, str(e)[:200])
      masked_lm = None
  return encoder, masked_lm


def _vocab_size(vocab_file: str) -> int:
  with tf.io.gfile.GFile(vocab_file) as f:
    return sum(1 for _ in f)


def export_checkpoint(checkpoint: str, output_dir: str,
                      encoder_config: Optional[str] = None,
                      vocab_file: Optional[str] = None,
                      do_lower_case: bool = True,
                      mlm_activation: Optional[str] = None,
                      with_mlm_head: bool = True,
                      copy_pooler_dense_to_encoder: bool = False
                     ) -> Dict[str, Any]:
  """Writes the Hugging Face folder; see the module docstring.

  Args:
    checkpoint: Checkpoint file prefix or folder.
    output_dir: Output folder.
    encoder_config: YAML with the encoder config (default: params.yaml or
      encoder.yaml beside the checkpoint).
    vocab_file: WordPiece vocabulary (default: the run's
      task.train_data.vocab_file, else vocab.txt beside the checkpoint).
    do_lower_case: Written to tokenizer_config.json.
    mlm_activation: The MLM head's activation (default: the run's
      task.model.mlm_activation, else the encoder's).
    with_mlm_head: Export the MLM head when the checkpoint has one.
    copy_pooler_dense_to_encoder: Export the next-sentence head's pooler as
      the HF pooler (see `restore`).

  Returns:
    A summary dict (checkpoint, files, has_mlm_head, hf_config).

  Raises:
    WeightMappingError: a missing input, or a model HF BERT cannot hold.
  """
  # First, so that a path without a checkpoint is named as such rather than
  # as a folder without an encoder config.
  path = resolve_checkpoint(checkpoint)
  encoder_config = encoder_config or _default_file(checkpoint, _CONFIG_NAMES)
  if not encoder_config:
    raise bert_weights.WeightMappingError(
        f'no --encoder_config given and no {" or ".join(_CONFIG_NAMES)} next '
        f'to {checkpoint!r}.')
  config = load_encoder_config(encoder_config)
  bert_weights.check_exportable(config)
  if mlm_activation is None:
    mlm_activation = _params_value(encoder_config, 'task', 'model',
                                   'mlm_activation')
  vocab_file = (vocab_file or
                _params_value(encoder_config, 'task', 'train_data',
                              'vocab_file') or
                _default_file(checkpoint, ['vocab.txt']) or
                _default_file(encoder_config, ['vocab.txt']))
  if not vocab_file or not tf.io.gfile.exists(vocab_file):
    raise bert_weights.WeightMappingError(
        f'vocabulary {vocab_file!r} not found; pass --vocab_file.')
  size = _vocab_size(vocab_file)
  if size != config.vocab_size:
    raise bert_weights.WeightMappingError(
        f'vocab_file {vocab_file!r} has {size} entries but the encoder '
        f'vocab_size is {config.vocab_size}.')

  encoder, masked_lm = restore(path, config, mlm_activation, with_mlm_head,
                               copy_pooler_dense_to_encoder)
  entries = bert_weights.encoder_entries(encoder)
  prefix = ''
  if masked_lm is not None:
    entries += bert_weights.masked_lm_entries(masked_lm)
    prefix = bert_weights.BASE_PREFIX
    if (mlm_activation and mlm_activation.lower() !=
        config.hidden_activation.lower()):
      logging.warning(
          'MLM head activation %r differs from the encoder\'s %r; Hugging '
          'Face BERT uses hidden_act for both.', mlm_activation,
          config.hidden_activation)
  tensors = bert_weights.export_tensors(entries, prefix)
  hf_config = bert_weights.hf_config_from_encoder_config(
      config, with_mlm_head=masked_lm is not None)

  tf.io.gfile.makedirs(output_dir)
  safetensors_numpy.save_file(
      tensors, os.path.join(output_dir, 'model.safetensors'),
      metadata={'format': 'pt'})  # transformers refuses files without it.
  with open(os.path.join(output_dir, 'config.json'), 'w',
            encoding='utf-8') as f:
    json.dump(hf_config, f, indent=2)
  with open(os.path.join(output_dir, 'tokenizer_config.json'), 'w',
            encoding='utf-8') as f:
    json.dump({'tokenizer_class': 'BertTokenizer',
               'do_lower_case': do_lower_case,
               'model_max_length': config.max_position_embeddings}, f,
              indent=2)
  shutil.copyfile(vocab_file, os.path.join(output_dir, 'vocab.txt'))
  return dict(checkpoint=path, encoder_config=encoder_config,
              vocab_file=vocab_file, has_mlm_head=masked_lm is not None,
              hf_config=hf_config, num_tensors=len(tensors))


def define_flags():
  """Defines the tool's flags."""
  flags.DEFINE_string('checkpoint', None,
                      'Checkpoint file prefix or folder (latest checkpoint).')
  flags.DEFINE_string('encoder_config', None,
                      'YAML with the encoder config (params.yaml, encoder.yaml'
                      ' or any YAML with task.model.encoder).')
  flags.DEFINE_string('output_dir', None, 'Output folder.')
  flags.DEFINE_string('vocab_file', None, 'WordPiece vocabulary.')
  flags.DEFINE_bool('do_lower_case', True,
                    'Tokenizer setting written to tokenizer_config.json.')
  flags.DEFINE_string('mlm_activation', None,
                      'Activation of the MLM head (default: the run\'s '
                      'task.model.mlm_activation, else the encoder\'s).')
  flags.DEFINE_bool('with_mlm_head', True,
                    'Export the MLM head when the checkpoint has one.')
  flags.DEFINE_bool('copy_pooler_dense_to_encoder', False,
                    'Export the pooler of the next_sentence head (trained by '
                    'NSP pretraining) as the HF pooler instead of the '
                    'encoder\'s pooler_transform.')
  flags.mark_flags_as_required(['checkpoint', 'output_dir'])


def main(_):
  """Exports the checkpoint the flags name and prints a summary."""
  f = flags.FLAGS
  summary = export_checkpoint(
      f.checkpoint, f.output_dir, encoder_config=f.encoder_config,
      vocab_file=f.vocab_file, do_lower_case=f.do_lower_case,
      mlm_activation=f.mlm_activation, with_mlm_head=f.with_mlm_head,
      copy_pooler_dense_to_encoder=f.copy_pooler_dense_to_encoder)
  config = summary['hf_config']
  print(f'exported {summary["checkpoint"]} ({config["num_hidden_layers"]}x'
        f'{config["hidden_size"]}, {summary["num_tensors"]} tensors, '
        f'architectures={config["architectures"]}, hidden_act='
        f'{config["hidden_act"]}) to {f.output_dir}')


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
