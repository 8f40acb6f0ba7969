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

"""The user-error type, and the CLI wrapper that reports it in one line.

Every mistake in what a user gives this package (config files and
overrides, flags, paths, checkpoints, data) raises `UserError` or one of its
subclasses (`config_parser.ConfigError`, `model_dir.ModelDirError`,
`checks.InputDataError`, ...), with a message that names the file, key or
value at fault and what was expected. `run_main` runs a CLI's absl `main`
and turns such an error into a single `error: <message>` line on stderr and
exit code 2, with no traceback; any other exception is a bug and keeps its
traceback. Every check runs before a command writes its outputs, so a
failed command leaves them as they were.
"""

import sys
from typing import Callable, List, NoReturn, Optional

from absl import app
from absl import flags
import yaml

# The exit code of a user error (argparse and absl use 2 for bad usage too).
EXIT_CODE = 2
# The shell's code for a run ended by SIGINT (128 + 2).
INTERRUPT_EXIT_CODE = 130


class UserError(ValueError):
  """A mistake in a config, flag, path, checkpoint or data file.

  Raise it (or a subclass) for anything the user can fix by changing what
  they gave; the message must name the file, key or value at fault and what
  was expected, in one sentence or two. It subclasses ValueError so that
  callers catching ValueError keep working.
  """


def _one_line(text: str) -> str:
  # gin appends "In call to configurable 'X' (...)" lines to an exception
  # raised inside a configurable (tfm's Trainer is one); they name no input.
  return ' '.join(part.strip() for part in str(text).splitlines()
                  if part.strip() and
                  not part.strip().startswith('In call to configurable'))


def message(error: BaseException) -> str:
  """The one-line text `report` prints for `error` (without `error: `)."""
  if isinstance(error, flags.Error):
    return _one_line(error) + ' (see --helpfull for the flags)'
  if isinstance(error, yaml.YAMLError):
    return f'invalid YAML: {_one_line(error)}'
  return _one_line(error) or type(error).__name__


def report(error: BaseException) -> NoReturn:
  """Prints `error: <message>` on stderr and exits with `EXIT_CODE`."""
  sys.stdout.flush()
  print(f'error: {message(error)}', file=sys.stderr, flush=True)
  sys.exit(EXIT_CODE)


# What `run_main` reports in one line: this package's type, absl's flag
# errors (bad value, missing required flag) and YAML syntax errors.
USER_ERRORS = (UserError, flags.Error, yaml.YAMLError)


def parse_flags(argv: List[str]) -> List[str]:
  """Parses flags with absl, reporting a bad or missing flag as a user error."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    report(e)


def call(main: Callable[[List[str]], Optional[int]],
         argv: List[str]) -> Optional[int]:
  """Runs `main(argv)`, reporting a user error (`report`) instead of raising.

  Ctrl-C outside a training loop (during imports of the model, config
  parsing, data preparation) ends with one line and exit code 130 instead
  of a traceback; inside `train.py`'s loop `graceful_stop` handles it first.
  """
  try:
    return main(argv)
  except USER_ERRORS as e:
    report(e)
  except KeyboardInterrupt:
    sys.stdout.flush()
    print('interrupted (Ctrl-C)', file=sys.stderr, flush=True)
    sys.exit(INTERRUPT_EXIT_CODE)


def run_main(main: Callable[[List[str]], Optional[int]],
             argv: Optional[List[str]] = None) -> None:
  """`absl.app.run(main)` for a CLI, with user errors as one `error:` line.

  Args:
    main: The CLI's main, taking the arguments left after the flags.
    argv: The command line (default `sys.argv`).
  """
  app.run(lambda args: call(main, args), argv=argv, flags_parser=parse_flags)
