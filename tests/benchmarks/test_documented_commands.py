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

"""Every benchmark command written in README.md and docs/ parses its flags.

Each script's flags are defined (as the script does under `__main__`) and
every documented command's arguments parsed, in one fresh interpreter.
"""

import collections
import glob
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

from token_drop.testing import train_utils

_COMMAND = re.compile(r'python -m (token_drop\.benchmarks\.\w+)([^`\n]*)')


def _documented_commands():
  """Script module -> [(source, argv)] of every documented command."""
  paths = [os.path.join(train_utils.REPO_ROOT, 'README.md')] + sorted(
      glob.glob(os.path.join(train_utils.REPO_ROOT, 'docs', '*.md')))
  found = collections.defaultdict(list)
  for path in paths:
    with open(path, encoding='utf-8') as f:
      text = re.sub(r'\\\n\s*', ' ', f.read())  # Join continued lines.
    for module, args in _COMMAND.findall(text):
      # `[--flag=value]` marks an optional flag in the docs.
      argv = [a.strip('[]') for a in shlex.split(args)]
      argv = [a for a in argv if a.startswith('--')]
      found[module].append((os.path.basename(path), argv))
  return found


_COMMANDS = _documented_commands()


def test_every_script_is_documented():
  scripts = {os.path.basename(p)[:-3] for p in glob.glob(os.path.join(
      train_utils.REPO_ROOT, 'token_drop', 'benchmarks', '*.py'))}
  scripts -= {'__init__', 'common', 'flops'}
  assert {m.rsplit('.', 1)[1] for m in _COMMANDS} >= scripts


# Run in a fresh interpreter: the suite's other modules define absl flags of
# the same names (e.g. vocab_file); each script's flags are removed again
# before the next script defines its own.
_PARSE = """
import importlib, json, sys
from absl import flags
errors = []
for module, commands in json.loads(sys.argv[1]).items():
  before = set(flags.FLAGS)
  importlib.import_module(module).define_flags()
  for source, argv in commands:
    try:
      flags.FLAGS([module] + argv)
    except flags.Error as e:
      shown = ' '.join(argv)
      errors.append(f'{source}: python -m {module} {shown}: {e}')
    flags.FLAGS.unparse_flags()
  for name in set(flags.FLAGS) - before:
    delattr(flags.FLAGS, name)
print(json.dumps(errors))
"""


@pytest.mark.slow
def test_documented_commands_parse():
  result = subprocess.run(
      [sys.executable, '-c', _PARSE, json.dumps(_COMMANDS)],
      cwd=train_utils.REPO_ROOT, capture_output=True, text=True, timeout=600,
      check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  errors = json.loads(result.stdout.strip().splitlines()[-1])
  assert not errors, '\n'.join(errors)
