"""Every benchmark command written in README.md and docs/ parses its flags.

The flags are defined (as each script does under `__main__`) and the
command's arguments parsed in this process; the defined flags are removed
afterwards, so that scripts sharing flag names can be checked one by one.
"""

import collections
import glob
import importlib
import os
import re
import shlex

from absl import flags
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


@pytest.fixture
def fresh_flags():
  before = set(flags.FLAGS)
  was_parsed = flags.FLAGS.is_parsed()
  yield flags.FLAGS
  for name in set(flags.FLAGS) - before:
    delattr(flags.FLAGS, name)
  if not was_parsed:
    flags.FLAGS.unparse_flags()


@pytest.mark.parametrize('module', sorted(_COMMANDS))
def test_documented_commands_parse(module, fresh_flags):
  script = importlib.import_module(module)
  script.define_flags()
  for source, argv in _COMMANDS[module]:
    try:
      fresh_flags([module] + argv)
    except flags.Error as e:
      pytest.fail(f'{source}: python -m {module} {" ".join(argv)}: {e}')
    fresh_flags.unparse_flags()
