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

"""`runtime.enable_xla` is honoured where tfm honours it.

tfm's `base_trainer.Trainer.train_step` wraps the task's `train_step` in
`tf.function(jit_compile=True)` when `runtime.enable_xla` is set and
`runtime.num_gpus > 0` (on TPUs XLA compiles the whole step anyway; on CPU
the flag is ignored). `token_drop.core.trainer.Trainer` inherits that step.
A tiny `train.run` with those settings (on a CPU strategy: the jit-compiled
step runs on CPU alike) trains, and its training loop calls an
XLA-must-compile function; without `enable_xla` it does not.
"""

import os

import pytest
import tensorflow as tf

from official.core import train_utils
import train
from token_drop.testing import train_utils as tu
from token_drop.core import config_parser


def _tiny_params(enable_xla: bool):
  options = train_utils.ParseConfigOptions(
      experiment='bert/pretraining',
      config_file=[os.path.join(tu.REPO_ROOT, f)
                   for f in (tu.DEMO_DATA, tu.TINY_BERT)],
      params_override=tu.tiny_pretrain_override(
          train_steps=2, steps_per_loop=2,
          extra=f'runtime.enable_xla={enable_xla},runtime.num_gpus=1'))
  cwd = os.getcwd()
  os.chdir(tu.REPO_ROOT)
  try:
    return config_parser.parse_configuration(options)
  finally:
    os.chdir(cwd)


def _must_compile_calls(loop_fn) -> int:
  """Calls marked `_XlaMustCompile` in the traced training loop."""
  count = 0
  for concrete in loop_fn._list_all_concrete_functions():  # pylint: disable=protected-access
    graph_def = concrete.graph.as_graph_def()
    nodes = list(graph_def.node)
    for function in graph_def.library.function:
      nodes.extend(function.node_def)
    count += sum(1 for n in nodes if '_XlaMustCompile' in n.attr
                 and n.attr['_XlaMustCompile'].b)
  return count


@pytest.mark.slow
@pytest.mark.parametrize('enable_xla', [True, False])
def test_enable_xla_compiles_the_task_train_step(tmp_path, enable_xla):
  params = _tiny_params(enable_xla)
  assert params.runtime.enable_xla is enable_xla
  cwd = os.getcwd()
  os.chdir(tu.REPO_ROOT)
  try:
    # num_gpus=1 is tfm's condition for XLA; the strategy stays on the CPU.
    trainer = train.run(params, str(tmp_path / 'run'), 'train',
                        strategy=tf.distribute.OneDeviceStrategy('/cpu:0'))
  finally:
    os.chdir(cwd)
  assert int(trainer.global_step.numpy()) == 2
  loss = float(trainer.last_train_logs['training_loss'])
  assert 0.0 < loss < 20.0
  calls = _must_compile_calls(trainer._train_loop_fn)  # pylint: disable=protected-access
  assert (calls > 0) is enable_xla, calls
