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

"""The training console: one progress line per loop, each line printed once.

Left alone, a run prints every message twice: orbit's Controller logs each of
its messages (`train | step: ...` with the whole metrics dict, `saved
checkpoint ...`) with absl and also prints it, and TensorFlow's Python logger,
configured on import before absl's handler exists, writes its records with
its own handler and again through absl's. This module

* keeps orbit's messages in the absl log only: `orbit_echo_dropped` drops
  the stdout copy that orbit's `_log` prints (nothing else is dropped);
* routes TensorFlow's logger through absl alone and, unless `--verbosity` is
  given, shows warnings and errors only (`quiet_logs`);
* formats the line the trainer prints per training loop (`progress_line`,
  e.g. `step 200/300 | 3.1 steps/s | ETA 0:00:32 | loss 6.91 lr 1.2e-04`)
  and per evaluation (`eval_line`).

`--verbosity=0` (absl's flag) shows every INFO log line again, orbit's
messages included, each once.
"""

import contextlib
import datetime
import io
import logging as std_logging
import math
import sys
from typing import Any, Mapping, Optional

from absl import logging
import orbit
import tensorflow as tf

_ORBIT_CONTROLLER_FILE = orbit.controller.__file__


class OrbitEchoFilter(io.TextIOBase):
  """A stdout that drops what orbit's Controller prints, passing all else.

  orbit's `controller._log(message)` calls `logging.info(message)` and then
  `print(message)`; orbit has no switch for the print. The filter recognises
  the print by the Python frame that writes (print is a builtin, so the
  writer's caller is `_log` itself). `sys._getframe` is CPython's documented
  way to read it; the alternative, replacing orbit's `_log`, would be a
  monkeypatch of a private function.

  Args:
    stream: The stream everything else goes to.
  """

  def __init__(self, stream):
    super().__init__()
    self._stream = stream

  def write(self, text):
    caller = sys._getframe(1)  # pylint: disable=protected-access
    if caller.f_code.co_filename == _ORBIT_CONTROLLER_FILE:
      return len(text)
    return self._stream.write(text)

  def flush(self):
    self._stream.flush()

  def writable(self):
    return True

  def isatty(self):
    return self._stream.isatty()

  @property
  def stream(self):
    return self._stream


@contextlib.contextmanager
def orbit_echo_dropped():
  """Within the block, orbit's printed copies of its log messages are dropped.

  Re-entrant: a nested block keeps the outer filter.

  Yields:
    None.
  """
  if isinstance(sys.stdout, OrbitEchoFilter):
    yield
    return
  with contextlib.redirect_stdout(OrbitEchoFilter(sys.stdout)):
    yield


def quiet_logs(verbosity_given: bool) -> None:
  """Each log record once, and only warnings and errors unless asked.

  Call after absl has parsed the flags (in `main`).

  Args:
    verbosity_given: Whether `--verbosity` (or `-v`) was on the command
      line; then absl's level is left as the user set it.
  """
  tf_logger = tf.get_logger()
  if logging.get_absl_handler() in std_logging.getLogger().handlers:
    # TensorFlow adds its own handler when it is imported before absl's is
    # installed; records then reach both. absl's alone is kept.
    for handler in list(tf_logger.handlers):
      tf_logger.removeHandler(handler)
  if not verbosity_given:
    logging.set_verbosity(logging.WARNING)


def format_duration(seconds: float) -> str:
  """`H:MM:SS` of a duration in seconds (rounded to whole seconds)."""
  return str(datetime.timedelta(seconds=int(round(max(seconds, 0.0)))))


def _scalar(value) -> Optional[float]:
  try:
    return float(value)
  except (TypeError, ValueError):
    return None


def progress_line(step: int, total_steps: int,
                  steps_per_second: Optional[float],
                  logs: Mapping[str, Any],
                  budget_remaining_seconds: Optional[float] = None) -> str:
  """The one line a training loop prints.

  Args:
    step: The global step at the end of the loop.
    total_steps: `trainer.train_steps`.
    steps_per_second: Training speed of the loop (evaluation excluded), or
      None when unknown.
    logs: The loop's train logs (`training_loss`, `learning_rate`, ...).
    budget_remaining_seconds: Remaining time budget, when the run has one;
      the ETA is the earlier of the last step and the budget's end.

  Returns:
    E.g. `step 200/300 | 3.1 steps/s | ETA 0:00:32 | loss 6.91 lr 1.2e-04`.
  """
  parts = [f'step {step}/{total_steps}']
  eta = None
  if steps_per_second and steps_per_second > 0:
    parts.append(f'{steps_per_second:.3g} steps/s')
    eta = max(total_steps - step, 0) / steps_per_second
  if budget_remaining_seconds is not None:
    eta = budget_remaining_seconds if eta is None else min(
        eta, budget_remaining_seconds)
  if eta is not None and math.isfinite(eta):
    parts.append(f'ETA {format_duration(eta)}')
  metrics = []
  loss = _scalar(logs.get('training_loss'))
  if loss is not None:
    metrics.append(f'loss {loss:.4g}')
  learning_rate = _scalar(logs.get('learning_rate'))
  if learning_rate is not None:
    metrics.append(f'lr {learning_rate:.2e}')
  if budget_remaining_seconds is not None:
    metrics.append(f'budget left {format_duration(budget_remaining_seconds)}')
  if metrics:
    parts.append(' '.join(metrics))
  return ' | '.join(parts)


def eval_line(step: int, total_steps: int, logs: Mapping[str, Any]) -> str:
  """The one line an evaluation prints: its loss, then its other metrics.

  Args:
    step: The global step evaluated.
    total_steps: `trainer.train_steps`.
    logs: The evaluation logs (`validation_loss`, task metrics, ...).

  Returns:
    E.g. `validation at step 150/300 | loss 6.95 | masked_lm_accuracy 0.12`.
  """
  parts = [f'validation at step {step}/{total_steps}']
  values = {key: _scalar(value) for key, value in logs.items()}
  values = {key: value for key, value in values.items()
            if value is not None and key != 'steps_per_second'}
  loss = values.pop('validation_loss', None)
  if loss is not None:
    parts.append(f'loss {loss:.4g}')
  if values:
    parts.append(' '.join(f'{key} {value:.4g}'
                          for key, value in sorted(values.items())))
  return ' | '.join(parts)
