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

"""Helpers for tests running train.py: tiny overrides, a subprocess runner."""

import os
import subprocess
import sys

# The repository checkout this package is in (train.py, configs/, data/).
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEMO_DATA = os.path.join('configs', 'demo', 'pretrain_demo.yaml')
TINY_BERT = os.path.join('configs', 'demo', 'tiny_bert.yaml')


def tiny_pretrain_override(train_steps=6, steps_per_loop=2, encoder='bert',
                           extra=''):
  """A --params_override shrinking the demo pretraining to seconds."""
  items = []
  if encoder:
    e = f'task.model.encoder.{encoder}'
    items += [f'{e}.hidden_size=32', f'{e}.num_layers=2',
              f'{e}.num_attention_heads=2', f'{e}.intermediate_size=64']
  for data in ('train_data', 'validation_data'):
    items += [f'task.{data}.global_batch_size=4', f'task.{data}.seq_length=32',
              f'task.{data}.max_predictions_per_seq=5']
  items += [
      f'trainer.train_steps={train_steps}',
      f'trainer.steps_per_loop={steps_per_loop}',
      f'trainer.summary_interval={steps_per_loop}',
      f'trainer.checkpoint_interval={steps_per_loop}',
      f'trainer.validation_interval={train_steps}',
      'trainer.validation_steps=2',
      f'trainer.optimizer_config.learning_rate.polynomial.decay_steps={train_steps}',
      'trainer.optimizer_config.warmup.polynomial.warmup_steps=1',
  ]
  if extra:
    items.append(extra)
  return ','.join(items)


def train_command(model_dir, experiment='bert/pretraining', config_files=(
    DEMO_DATA, TINY_BERT), override=None, mode='train_and_eval', flags=()):
  """train.py's command line; `flags` adds e.g. `--verbosity=0` (INFO logs)."""
  cmd = [sys.executable, os.path.join(REPO_ROOT, 'train.py'),
         f'--experiment={experiment}', f'--mode={mode}',
         f'--model_dir={model_dir}']
  cmd += [f'--config_file={f}' for f in config_files]
  if override:
    cmd.append(f'--params_override={override}')
  cmd += list(flags)
  return cmd


def run_train(model_dir, timeout=600, env=None, **kwargs):
  """Runs train.py from the repo root; returns the CompletedProcess."""
  return subprocess.run(
      train_command(model_dir, **kwargs), cwd=REPO_ROOT, capture_output=True,
      text=True, timeout=timeout, env=env, check=False)
