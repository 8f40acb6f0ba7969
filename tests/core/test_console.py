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

"""Tests for token_drop.core.console: progress lines and orbit's echo."""

import contextlib
import io
import logging as std_logging

from absl import logging
import numpy as np
from orbit import controller as orbit_controller
import tensorflow as tf

from token_drop.core import console


def test_progress_line_has_step_speed_eta_and_main_metrics():
  line = console.progress_line(
      200, 300, 3.125, {'training_loss': np.float32(6.9123),
                        'learning_rate': np.float32(1.2e-4),
                        'masked_lm_accuracy': 0.1})
  assert line == ('step 200/300 | 3.12 steps/s | ETA 0:00:32 | '
                  'loss 6.912 lr 1.20e-04')


def test_progress_line_eta_is_the_earlier_of_steps_and_budget():
  # 100 steps at 0.5 steps/s is 200 s; the budget ends after 90 s.
  line = console.progress_line(200, 300, 0.5, {'training_loss': 1.0},
                               budget_remaining_seconds=90.0)
  assert '| ETA 0:01:30 |' in line
  assert line.endswith('loss 1 budget left 0:01:30')
  # Without a speed (no loop timed yet) there is no ETA from the steps.
  assert 'ETA' not in console.progress_line(0, 10, None, {})
  assert console.format_duration(3725.4) == '1:02:05'


def test_eval_line_puts_the_loss_first_and_drops_the_speed():
  line = console.eval_line(150, 300, {
      'validation_loss': np.float32(6.95), 'steps_per_second': 3.0,
      'masked_lm_accuracy': np.float32(0.125), 'lm_example_loss': 6.95})
  assert line == ('validation at step 150/300 | loss 6.95 | '
                  'lm_example_loss 6.95 masked_lm_accuracy 0.125')


def test_orbit_echo_is_dropped_and_other_output_kept():
  # orbit's own helper: logs with absl and prints the same message.
  orbit_log = orbit_controller._log  # pylint: disable=protected-access
  out = io.StringIO()
  with contextlib.redirect_stdout(out):
    with console.orbit_echo_dropped():
      orbit_log('train | step: 2 | output: {...}')
      print('a line of our own')
      with console.orbit_echo_dropped():  # re-entrant
        print('nested line')
    orbit_log('outside the block')
  assert out.getvalue() == ('a line of our own\nnested line\n'
                            'outside the block\n')


def test_quiet_logs_routes_tensorflow_through_absl_once():
  tf_logger = tf.get_logger()
  root = std_logging.getLogger()
  absl_handler = logging.get_absl_handler()
  saved = (list(tf_logger.handlers), list(root.handlers),
           logging.get_verbosity())
  extra = std_logging.StreamHandler(io.StringIO())
  try:
    tf_logger.addHandler(extra)
    if absl_handler not in root.handlers:
      root.addHandler(absl_handler)
    console.quiet_logs(verbosity_given=False)
    assert extra not in tf_logger.handlers
    assert logging.get_verbosity() == logging.WARNING
    logging.set_verbosity(logging.DEBUG)
    console.quiet_logs(verbosity_given=True)
    assert logging.get_verbosity() == logging.DEBUG
  finally:
    for handler in list(tf_logger.handlers):
      tf_logger.removeHandler(handler)
    for handler in saved[0]:
      tf_logger.addHandler(handler)
    root.handlers[:] = saved[1]
    logging.set_verbosity(saved[2])
