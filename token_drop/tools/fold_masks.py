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

r"""Folds a pruning run's masks into a plain BertEncoderV2 checkpoint.

  python -m token_drop.tools.fold_masks --checkpoint=MODEL_DIR_OR_PREFIX \
    --output_dir=OUT [--saved_model_dir=SAVED_MODEL]

Rebuilds tfm's BertEncoderV2 from the run's params.yaml (or --encoder_config),
restores the `encoder` item of the training checkpoint, multiplies every
kernel with a `pruning_mask.*` in the checkpoint by its mask, and writes
OUT/ckpt-1 with the item `encoder` (no masks, no optimizer) plus
OUT/params.yaml. That folder is read like any encoder checkpoint of this
package: `task.init_checkpoint` of the fine-tuning tasks, tfm's
BertEncoderV2, and `python -m token_drop.tools.export_hf --checkpoint=OUT`
(Hugging Face). Heads are not carried over into that checkpoint (the
training checkpoint's kernels already hold zeros where the masks do:
gradients are masked at every update, kernels and Adam moments at every mask
update).

With --saved_model_dir, a sentence prediction run (`sparse_bert/
sentence_prediction`, `pruning/sentence_prediction`) is also exported whole,
encoder and classifier head, as a SavedModel by
`token_drop.tools.export_saved_model` with the run's params.yaml: the task's
model restored from the checkpoint, masks folded, tfm's serving signatures
(default `serve(input_word_ids, input_mask, input_type_ids)` -> `outputs`,
the logits) and `serve_text` on raw text.

It also prints the storage of the encoder weights (all of them, and the
pruned kernels alone): dense float32 bytes, gzip bytes of the same, and a
sparse layout (for pruned kernels a bitmap of the nonzeros plus their float32
values; other tensors dense).
"""

import gzip
import os
import shutil
from typing import Any, Dict, Optional

from absl import flags
import numpy as np
import tensorflow as tf

from official.nlp.tasks import sentence_prediction
from token_drop.core import errors
from token_drop.tools import export_hf
from token_drop.tools import export_saved_model
from token_drop.tools import sparsity_report


def storage_bytes(encoder, pruned_names) -> Dict[str, int]:
  """Dense, gzip and bitmap+values sizes of the encoder's weights.

  Returns:
    dict(dense_bytes, gzip_bytes, sparse_bytes) over all encoder weights and
    pruned_dense_bytes, pruned_gzip_bytes, pruned_sparse_bytes over the
    pruned kernels only.
  """
  dense = sparse = pruned_dense = pruned_sparse = 0
  chunks, pruned_chunks = [], []
  for var in encoder.weights:
    value = var.numpy().astype(np.float32)
    chunks.append(value.tobytes())
    dense += value.nbytes
    if var.name.split(':')[0] in pruned_names:
      size = (value.size + 7) // 8 + 4 * int(np.count_nonzero(value))
      sparse += size
      pruned_sparse += size
      pruned_dense += value.nbytes
      pruned_chunks.append(value.tobytes())
    else:
      sparse += value.nbytes
  gz = lambda c: len(gzip.compress(b''.join(c), compresslevel=6))
  return dict(dense_bytes=dense, gzip_bytes=gz(chunks), sparse_bytes=sparse,
              pruned_dense_bytes=pruned_dense,
              pruned_gzip_bytes=gz(pruned_chunks),
              pruned_sparse_bytes=pruned_sparse)


def fold_masks(checkpoint: str, output_dir: str,
               encoder_config: Optional[str] = None) -> Dict[str, Any]:
  """Writes the folded encoder checkpoint; returns a summary.

  Args:
    checkpoint: A pruning run's checkpoint prefix or model_dir.
    output_dir: Output folder (ckpt-1 and params.yaml).
    encoder_config: YAML with the encoder config (default: params.yaml or
      encoder.yaml beside the checkpoint).

  Returns:
    dict(checkpoint, output, folded (kernel names), sparsity, storage).
  """
  path = export_hf.resolve_checkpoint(checkpoint)
  config_file = encoder_config or export_hf._default_file(  # pylint: disable=protected-access
      checkpoint, export_hf._CONFIG_NAMES)  # pylint: disable=protected-access
  if not config_file:
    raise ValueError(f'{checkpoint}: no params.yaml or encoder.yaml beside '
                     'the checkpoint; pass --encoder_config.')
  config = export_hf.load_encoder_config(config_file)
  encoder, _ = export_hf.restore(path, config, with_mlm_head=False)
  masks = sparsity_report.read_masks(path)
  sparsity = _fold(encoder.weights, masks, path, config_file)
  tf.io.gfile.makedirs(output_dir)
  saved = tf.train.CheckpointManager(
      tf.train.Checkpoint(encoder=encoder), output_dir, max_to_keep=1,
      checkpoint_name='ckpt').save(checkpoint_number=1)
  if os.path.basename(config_file) in export_hf._CONFIG_NAMES:  # pylint: disable=protected-access
    shutil.copy(config_file, os.path.join(output_dir,
                                          os.path.basename(config_file)))
  return dict(checkpoint=path, output=saved, folded=sorted(masks),
              sparsity=sparsity, storage=storage_bytes(encoder, set(masks)))


def _fold(weights, masks: Dict[str, np.ndarray], path: str,
          config_file: str) -> float:
  """Multiplies each masked kernel in `weights` by its mask.

  Returns:
    The fraction of zeros over the masked kernels.
  """
  if not masks:
    raise ValueError(f'{path}: no pruning masks to fold.')
  by_name = {v.name.split(':')[0]: v for v in weights}
  missing = sorted(set(masks) - set(by_name))
  if missing:
    raise ValueError(f'{path}: masks for {missing[:3]} match no variable of '
                     f'the model in {config_file}.')
  zeros = size = 0
  for name, mask in masks.items():
    var = by_name[name]
    if tuple(var.shape) != mask.shape:
      raise ValueError(f'{path}: mask of {name} has shape {mask.shape}, the '
                       f'kernel {tuple(var.shape)}.')
    var.assign(var.numpy() * mask.astype(var.dtype.as_numpy_dtype))
    zeros += int(np.sum(var.numpy() == 0))
    size += int(mask.size)
  return zeros / size


def load_classifier_config(path: str) -> sentence_prediction.ModelConfig:
  """The `task.model` of a sentence prediction run's params.yaml."""
  model = export_hf._params_value(path, 'task', 'model')  # pylint: disable=protected-access
  if not isinstance(model, dict) or 'num_classes' not in model:
    raise ValueError(
        f'{path}: no task.model with num_classes; --saved_model_dir exports '
        'sentence prediction runs (sparse_bert/sentence_prediction, '
        'pruning/sentence_prediction) only.')
  config = sentence_prediction.ModelConfig()
  config.override(model, is_strict=False)
  return config


def classifier_experiment(config_file: str) -> str:
  """The experiment of a sentence prediction pruning run's params.yaml."""
  task = export_hf._params_value(config_file, 'task')  # pylint: disable=protected-access
  if isinstance(task, dict) and 'pruning' in task and 'model' in task:
    return ('sparse_bert/sentence_prediction' if 'teacher' in task else
            'pruning/sentence_prediction')
  raise export_saved_model.ExportError(
      f'{config_file}: no task.pruning and task.model; --saved_model_dir '
      'exports sentence prediction pruning runs (sparse_bert/'
      'sentence_prediction, pruning/sentence_prediction) only.')


def export_classifier(checkpoint: str, saved_model_dir: str,
                      config_file: Optional[str] = None,
                      experiment: Optional[str] = None) -> Dict[str, Any]:
  """Exports a pruned sentence classifier, masks folded, as a SavedModel.

  A use of `token_drop.tools.export_saved_model` (its signatures: token ids,
  tf.Example and raw text) with the run's params.yaml as the config.

  Args:
    checkpoint: A sentence prediction pruning run's checkpoint prefix or
      model_dir.
    saved_model_dir: Where the SavedModel goes.
    config_file: The run's params.yaml (default: beside the checkpoint).
    experiment: The run's experiment (default: `sparse_bert/
      sentence_prediction` if the config has a teacher, else
      `pruning/sentence_prediction`).

  Returns:
    dict(checkpoint, output, sparsity, storage) with the storage of all the
    classifier's weights (see `storage_bytes`).
  """
  path = export_hf.resolve_checkpoint(checkpoint)
  config_file = config_file or export_hf._default_file(  # pylint: disable=protected-access
      checkpoint, ('params.yaml',))
  if not config_file:
    raise export_saved_model.ExportError(
        f'{checkpoint}: no params.yaml beside the checkpoint; pass '
        '--encoder_config=PARAMS_YAML.')
  experiment = experiment or classifier_experiment(config_file)
  exported = export_saved_model.export(
      experiment, path, saved_model_dir, config_files=[config_file],
      what='classifier')
  if not exported.folded:
    raise export_saved_model.ExportError(f'{path}: no pruning masks to fold.')
  kernels = [v for v in exported.model.weights
             if v.name.split(':')[0] in set(exported.folded)]
  zeros = sum(int(np.sum(v.numpy() == 0)) for v in kernels)
  size = sum(int(np.prod(v.shape)) for v in kernels)
  return dict(checkpoint=path, output=exported.output_dir,
              sparsity=zeros / size,
              storage=storage_bytes(exported.model, set(exported.folded)))


def _print_storage(what: str, s: Dict[str, int]) -> None:
  print(f'{what} weights: dense float32 {s["dense_bytes"]} bytes, gzip '
        f'{s["gzip_bytes"]} bytes ({s["gzip_bytes"] / s["dense_bytes"]:.3f}), '
        f'bitmap+values {s["sparse_bytes"]} bytes '
        f'({s["sparse_bytes"] / s["dense_bytes"]:.3f})')


def main(_):
  """Folds the checkpoint's pruning masks and prints a summary."""
  f = flags.FLAGS
  summary = fold_masks(f.checkpoint, f.output_dir, f.encoder_config)
  s = summary['storage']
  print(f'folded {len(summary["folded"])} pruned kernels (sparsity '
        f'{summary["sparsity"]:.4f}) into {summary["output"]}')
  _print_storage('encoder', s)
  print(f'pruned kernels only: dense {s["pruned_dense_bytes"]} bytes, gzip '
        f'{s["pruned_gzip_bytes"]} bytes, bitmap+values '
        f'{s["pruned_sparse_bytes"]} bytes')
  if f.saved_model_dir:
    exported = export_classifier(f.checkpoint, f.saved_model_dir,
                                 f.encoder_config, f.experiment)
    print(f'classifier with folded masks (sparsity '
          f'{exported["sparsity"]:.4f}) exported as a SavedModel to '
          f'{exported["output"]} (signatures: serving_default on '
          'input_word_ids, input_mask, input_type_ids -> outputs; '
          'serve_text on text -> logits, probabilities; see '
          'token_drop.tools.export_saved_model)')
    _print_storage('classifier', exported['storage'])


if __name__ == '__main__':
  flags.DEFINE_string('checkpoint', None,
                      'Checkpoint prefix or model_dir of a pruning run.')
  flags.DEFINE_string('output_dir', None, 'Output folder.')
  flags.DEFINE_string('encoder_config', None,
                      'YAML with the encoder config (default: params.yaml '
                      'beside the checkpoint).')
  flags.DEFINE_string('saved_model_dir', None,
                      'Also export the whole classifier of a sentence '
                      'prediction run, masks folded, as a SavedModel here '
                      '(with token_drop.tools.export_saved_model).')
  flags.DEFINE_string('experiment', None,
                      'The run\'s experiment for --saved_model_dir (default: '
                      'sparse_bert/sentence_prediction if params.yaml has a '
                      'teacher, else pruning/sentence_prediction).')
  flags.mark_flags_as_required(['checkpoint', 'output_dir'])
  errors.run_main(main)
