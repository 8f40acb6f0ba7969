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

"""README command 1 stays runnable: the demo command, shrunk to a few steps."""

import os
import re
import shlex
import subprocess
import sys

import pytest

from token_drop.testing import train_utils as tu


def _readme_command(marker):
  with open(os.path.join(tu.REPO_ROOT, 'README.md'), encoding='utf-8') as f:
    text = f.read()
  match = re.search(rf'<!-- {marker} -->\s*```\s*\n(.*?)\n```', text, re.S)
  assert match, f'README.md has no {marker} block'
  return match.group(1).strip()


@pytest.mark.slow
def test_readme_demo_command_runs(tmp_path):
  command = _readme_command('demo-command')
  install, sep, run = command.partition(' && ')
  assert sep and install.startswith('pip install -e .')
  argv = shlex.split(run)
  assert argv[:2] == ['python', 'train.py']
  argv = [sys.executable, 'train.py'] + [
      a for a in argv[2:] if not a.startswith('--model_dir=')]
  # Same stack, a few steps at seq 32 (the demo keeps 64 of 128 tokens).
  extra = 'task.model.encoder.any.token_keep_k=16' if (
      'tiny_token_drop' in run) else ''
  argv += [f'--model_dir={tmp_path}', '--params_override=' +
           tu.tiny_pretrain_override(encoder=None, extra=extra)]
  result = subprocess.run(argv, cwd=tu.REPO_ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'final validation metrics:' in result.stdout
  assert 'tensorboard --logdir' in result.stdout


def test_ci_runs_the_readme_test_command():
  command = _readme_command('test-command')
  assert command.startswith('pip install -e ".[test]"')
  with open(os.path.join(tu.REPO_ROOT, '.ci', 'run'), encoding='utf-8') as f:
    assert 'test-command' in f.read()
