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

r"""Sparsity of a pruning run's checkpoint: per pruned matrix and overall.

  python -m token_drop.tools.sparsity_report --checkpoint=MODEL_DIR_OR_PREFIX

Reads any training checkpoint of a run with `task.pruning`
(token_drop.layers.pruning saves one 0/1 mask per pruned kernel, named
`pruning_mask.<kernel name>`), and prints for every pruned matrix its size and
the fraction of zeros of its mask (the saved kernel is zero wherever its mask
is: gradients are masked at every update and kernels at every mask update),
then the sparsity over the pruned kernels and the fraction of exact zeros
over all saved model parameters (embeddings, biases, norms and heads
included; optimizer slots, masks and counters excluded).
"""

import re
from typing import Any, Dict, List, Optional

from absl import flags
import numpy as np
import tensorflow as tf

from token_drop import compat
from token_drop.core import checkpoints
from token_drop.core import errors
from token_drop.layers import pruning

_MASK = re.compile(r'(^|/)(' + re.escape(pruning.MASK_PREFIX.replace(
    '.', '..')) + r'[^/]*)/\.ATTRIBUTES/VARIABLE_VALUE$')
_SKIP_ROOTS = ('optimizer/', 'global_step', 'training_clock', 'save_counter',
               compat.OBJECT_GRAPH_KEY)


def kernel_name_of_mask_key(key: str) -> Optional[str]:
  """'model/x/pruning_mask..a..b/.ATTRIBUTES/...' -> 'a/b' (None if no mask)."""
  match = _MASK.search(key)
  if not match:
    return None
  name = match.group(2).replace('..', '.')[len(pruning.MASK_PREFIX):]
  return name.replace('.', '/')


def read_masks(checkpoint_path: str) -> Dict[str, np.ndarray]:
  """The pruning masks of a checkpoint, by kernel variable name."""
  reader = tf.train.load_checkpoint(checkpoint_path)
  masks = {}
  for key in reader.get_variable_to_shape_map():
    name = kernel_name_of_mask_key(key)
    if name and 'OPTIMIZER_SLOT' not in key:
      masks[name] = reader.get_tensor(key)
  return masks


def _parameter_keys(reader) -> List[str]:
  keys = []
  for key in sorted(reader.get_variable_to_shape_map()):
    if (key.startswith(_SKIP_ROOTS) or 'OPTIMIZER_SLOT' in key or
        not key.endswith('.ATTRIBUTES/VARIABLE_VALUE') or
        kernel_name_of_mask_key(key)):
      continue
    keys.append(key)
  return keys


def report(checkpoint: str) -> Dict[str, Any]:
  """Computes the report.

  Args:
    checkpoint: Checkpoint prefix or model_dir.

  Returns:
    dict with `matrices` (name -> dict(size, mask_sparsity, kernel_sparsity)),
    `pruned_sparsity`, `parameters`, `zero_parameters`, `overall_sparsity`.

  Raises:
    ValueError: no checkpoint, or a checkpoint without pruning masks.
  """
  path = checkpoints.resolve_checkpoint(checkpoint)
  reader = tf.train.load_checkpoint(path)
  masks = read_masks(path)
  if not masks:
    raise ValueError(f'{path}: no pruning masks (keys named '
                     f'{pruning.MASK_PREFIX}*); was it trained with '
                     'task.pruning?')
  dtypes = reader.get_variable_to_dtype_map()
  keys = [k for k in _parameter_keys(reader) if dtypes[k].is_floating]
  matrices = {}
  for name, mask in sorted(masks.items()):
    matrices[name] = dict(size=int(mask.size),
                          mask_sparsity=float(np.mean(mask == 0)))
  pruned_zeros = sum(int(np.sum(m == 0)) for m in masks.values())
  pruned_size = sum(int(m.size) for m in masks.values())
  total = zeros = 0
  for key in keys:
    value = reader.get_tensor(key)
    total += value.size
    zeros += int(np.sum(value == 0))
  return dict(matrices=matrices, checkpoint=path,
              pruned_sparsity=pruned_zeros / pruned_size,
              pruned_parameters=pruned_size, parameters=total,
              zero_parameters=zeros,
              overall_sparsity=zeros / total if total else 0.0)


def format_report(result: Dict[str, Any]) -> str:
  """Formats a `report` result as text."""
  lines = [f'checkpoint: {result["checkpoint"]}',
           f'{"pruned matrix":60s} {"size":>10s} {"sparsity":>9s}']
  for name, row in result['matrices'].items():
    lines.append(f'{name:60s} {row["size"]:10d} '
                 f'{row["mask_sparsity"]:9.4f}')
  lines.append(
      f'pruned kernels: {len(result["matrices"])} matrices, '
      f'{result["pruned_parameters"]} weights, sparsity '
      f'{result["pruned_sparsity"]:.4f}')
  lines.append(
      f'all parameters: {result["parameters"]} values, '
      f'{result["zero_parameters"]} zeros, sparsity '
      f'{result["overall_sparsity"]:.4f}')
  return '\n'.join(lines)


def main(_):
  """Prints the sparsity report of --checkpoint."""
  print(format_report(report(flags.FLAGS.checkpoint)))


if __name__ == '__main__':
  flags.DEFINE_string('checkpoint', None,
                      'Checkpoint prefix or model_dir of a pruning run.')
  flags.mark_flag_as_required('checkpoint')
  errors.run_main(main)
