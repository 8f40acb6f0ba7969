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

r"""Imports a Hugging Face BERT folder as a tfm BertEncoderV2 checkpoint.

Usage:

  python -m token_drop.tools.import_hf --hf_dir=DIR --output_dir=OUT

DIR holds config.json, model.safetensors (or sharded model-*.safetensors with
model.safetensors.index.json) and vocab.txt, as written by transformers'
`save_pretrained` for BertModel, BertForMaskedLM or BertForPreTraining. The
safetensors files are read with the safetensors numpy API (no torch).

OUT receives:

* `ckpt-1.*` + `checkpoint`: a `tf.train.Checkpoint(encoder=BertEncoderV2,
  masked_lm=MaskedLM, next_sentence.pooler_dense=Dense)` (the MLM head only
  when the folder has `cls.predictions.*`; the pooler, also the encoder's
  pooler_transform, only when it has `pooler.dense.*`). These are the items
  tfm's tasks restore from `task.init_checkpoint`: sentence_prediction and
  tagging read `encoder` (and `next_sentence.pooler_dense` with
  init_cls_pooler), masked_lm reads `encoder`, `masked_lm` and the
  `next_sentence` head's pooler (so that head needs inner_dim = hidden_size,
  or `task.model.cls_heads: []`). OUT can be passed as `task.init_checkpoint`
  directly.
* `encoder.yaml`: the matching `task.model.encoder` config, to stack as a
  `--config_file` after the data config.
* `vocab.txt`: the model's WordPiece vocabulary.

Hugging Face `hidden_act: gelu` (exact erf) becomes `gelu_exact`; it is
registered when `experiments` (and so train.py) is imported.
"""

import json
import os
import shutil
from typing import Any, Dict, Tuple

from absl import flags
from absl import logging
import numpy as np
import safetensors
from safetensors import numpy as safetensors_numpy
import tensorflow as tf
import yaml

from token_drop.core import errors
from token_drop.tools import bert_weights

CHECKPOINT_PREFIX = 'ckpt'
ENCODER_YAML = 'encoder.yaml'
VOCAB_FILE = 'vocab.txt'
NSP_POOLER = 'next_sentence.pooler_dense'


def read_hf_config(hf_dir: str) -> Dict[str, Any]:
  """Reads `hf_dir`'s Hugging Face config.json."""
  path = os.path.join(hf_dir, 'config.json')
  if not os.path.exists(path):
    raise bert_weights.WeightMappingError(
        f'{hf_dir!r} has no config.json; expected a Hugging Face model folder.')
  return _read_json(path)


def _read_json(path: str) -> Any:
  try:
    with open(path, encoding='utf-8') as f:
      return json.load(f)
  except (ValueError, UnicodeDecodeError) as e:
    raise bert_weights.WeightMappingError(
        f'{path!r} is not valid JSON ({e}); it may be truncated: download it '
        'again.') from None


def _load_safetensors(path: str) -> Dict[str, np.ndarray]:
  try:
    return safetensors_numpy.load_file(path)
  except (safetensors.SafetensorError, OSError) as e:
    raise bert_weights.WeightMappingError(
        f'{path!r} is not a readable safetensors file ({e}); it may be '
        'truncated: download it again.') from None


def read_hf_tensors(hf_dir: str) -> Tuple[Dict[str, np.ndarray], str]:
  """Reads model.safetensors (or its shards) as numpy arrays.

  Args:
    hf_dir: The Hugging Face model folder.

  Returns:
    (tensors by name, a description of the source for error messages).
  """
  single = os.path.join(hf_dir, 'model.safetensors')
  index = os.path.join(hf_dir, 'model.safetensors.index.json')
  if os.path.exists(single):
    return _load_safetensors(single), single
  if os.path.exists(index):
    weight_map = _read_json(index).get('weight_map')
    if not isinstance(weight_map, dict):
      raise bert_weights.WeightMappingError(
          f'{index!r} has no weight_map; expected a safetensors index.')
    shards = sorted(set(weight_map.values()))
    tensors = {}
    for shard in shards:
      tensors.update(_load_safetensors(os.path.join(hf_dir, shard)))
    return tensors, index
  others = [n for n in os.listdir(hf_dir) if n.endswith(('.bin', '.h5'))]
  raise bert_weights.WeightMappingError(
      f'{hf_dir!r} has no model.safetensors (found {others or "nothing"}); '
      'convert the weights to safetensors first (torch is not used here).')


def read_do_lower_case(hf_dir: str) -> bool:
  """Whether the model lower-cases (default True)."""
  path = os.path.join(hf_dir, 'tokenizer_config.json')
  if os.path.exists(path):
    with open(path, encoding='utf-8') as f:
      return bool(json.load(f).get('do_lower_case', True))
  return True


def encoder_yaml_dict(config) -> Dict[str, Any]:
  """The `task.model.encoder` override for a `BertEncoderConfig`."""
  keys = ('vocab_size', 'hidden_size', 'num_layers', 'num_attention_heads',
          'intermediate_size', 'hidden_activation', 'dropout_rate',
          'attention_dropout_rate', 'max_position_embeddings',
          'type_vocab_size', 'initializer_range')
  bert = {k: getattr(config, k) for k in keys}
  return {'task': {'model': {'encoder': {'type': 'bert', 'bert': bert}}}}


def write_encoder_yaml(path: str, config, header: str) -> None:
  """Writes `config` as encoder YAML, `header` as comments."""
  with open(path, 'w', encoding='utf-8') as f:
    f.write(''.join(f'# {line}\n' for line in header.splitlines()))
    yaml.safe_dump(encoder_yaml_dict(config), f, sort_keys=False)


def import_checkpoint(hf_dir: str, output_dir: str) -> Dict[str, Any]:
  """Converts a Hugging Face BERT folder; see the module docstring.

  Args:
    hf_dir: The Hugging Face model folder.
    output_dir: Where the checkpoint, encoder.yaml and vocab.txt go.

  Returns:
    A summary: checkpoint path, encoder config, whether the MLM head and the
    pooler were found, do_lower_case, and the HF tensors that were not used.

  Raises:
    WeightMappingError: unsupported config or missing/misshaped tensor.
  """
  hf_config = read_hf_config(hf_dir)
  config = bert_weights.encoder_config_from_hf(
      hf_config, os.path.join(hf_dir, 'config.json'))
  raw, source = read_hf_tensors(hf_dir)
  tensors = bert_weights.normalize_hf_names(raw)
  vocab_src = os.path.join(hf_dir, VOCAB_FILE)
  if not os.path.exists(vocab_src):
    raise bert_weights.WeightMappingError(f'{hf_dir!r} has no {VOCAB_FILE}.')

  encoder = bert_weights.build_encoder(config)
  has_pooler = 'pooler.dense.weight' in tensors
  entries = bert_weights.encoder_entries(encoder, with_pooler=has_pooler)
  bert_weights.assign_from_hf(entries, tensors, source)
  if not has_pooler:
    logging.warning('%s has no pooler.dense.*: the pooler keeps its random '
                    'initialization.', source)
  items = {'encoder': encoder}
  if has_pooler:
    # tfm's pretrainer and sentence_prediction (init_cls_pooler) read the
    # pooler of the next-sentence head under this name; BERT's NSP pooler is
    # the HF pooler.
    items[NSP_POOLER] = bert_weights.copy_dense(encoder.pooler_layer)
  has_mlm = bert_weights.MLM_PREFIX + 'transform.dense.weight' in tensors
  if has_mlm:
    masked_lm = bert_weights.build_masked_lm(encoder, config.hidden_activation)
    mlm_entries = bert_weights.masked_lm_entries(masked_lm)
    bert_weights.assign_from_hf(mlm_entries, tensors, source)
    entries += mlm_entries
    decoder = tensors.get(bert_weights.MLM_PREFIX + 'decoder.weight')
    if decoder is not None and not np.array_equal(
        decoder, tensors['embeddings.word_embeddings.weight']):
      raise bert_weights.WeightMappingError(
          f'{source}: cls.predictions.decoder.weight differs from the word '
          'embeddings; tfm\'s MaskedLM ties them, so it cannot be imported.')
    items['masked_lm'] = masked_lm

  used = {e.hf_name for e in entries} | {
      'embeddings.position_ids', bert_weights.MLM_PREFIX + 'decoder.weight',
      bert_weights.MLM_PREFIX + 'decoder.bias'}
  unused = sorted(set(tensors) - used)
  if unused:
    logging.info('Not imported (no BertEncoderV2/MaskedLM counterpart): %s',
                 unused)

  tf.io.gfile.makedirs(output_dir)
  checkpoint = tf.train.Checkpoint(**items)
  path = checkpoint.save(os.path.join(output_dir, CHECKPOINT_PREFIX))
  shutil.copyfile(vocab_src, os.path.join(output_dir, VOCAB_FILE))
  do_lower_case = read_do_lower_case(hf_dir)
  header = (
      f'Encoder of {os.path.abspath(hf_dir)} (imported by '
      'token_drop.tools.import_hf).\n'
      f'Checkpoint: {path} (items: {", ".join(items)}); use the folder as '
      'task.init_checkpoint.\n'
      f'Vocabulary: {os.path.join(output_dir, VOCAB_FILE)}, '
      f'do_lower_case: {str(do_lower_case).lower()}.')
  if has_mlm:
    header += (
        '\nMasked-LM experiments: set task.model.mlm_activation='
        f'{config.hidden_activation} and give the next_sentence head '
        f'inner_dim={config.hidden_size} (or task.model.cls_heads=[]).')
  write_encoder_yaml(os.path.join(output_dir, ENCODER_YAML), config, header)
  return dict(checkpoint=path, encoder_config=config, has_mlm_head=has_mlm,
              has_pooler=has_pooler, do_lower_case=do_lower_case,
              unused_tensors=unused)


def define_flags():
  """Defines the tool's flags."""
  flags.DEFINE_string('hf_dir', None, 'Hugging Face BERT model folder.')
  flags.DEFINE_string('output_dir', None, 'Output folder.')
  flags.mark_flags_as_required(['hf_dir', 'output_dir'])


def main(_):
  """Imports the Hugging Face model and prints a summary."""
  summary = import_checkpoint(flags.FLAGS.hf_dir, flags.FLAGS.output_dir)
  config = summary['encoder_config']
  print(f'imported {config.num_layers}x{config.hidden_size} BERT '
        f'(MLM head: {summary["has_mlm_head"]}, pooler: '
        f'{summary["has_pooler"]}) to {summary["checkpoint"]}')
  print(f'encoder config: {os.path.join(flags.FLAGS.output_dir, ENCODER_YAML)}'
        f'; vocab_file: {os.path.join(flags.FLAGS.output_dir, VOCAB_FILE)}; '
        f'do_lower_case: {str(summary["do_lower_case"]).lower()}')
  if summary['unused_tensors']:
    print(f'not imported: {", ".join(summary["unused_tensors"])}')


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
