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

"""Tests of graceful stops (SIGTERM/SIGINT) and of exact resumes."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import tensorflow as tf

from token_drop.testing import train_utils as tu
from token_drop.core import graceful_stop
from token_drop.tools import run_metrics

# Per-step losses of a resumed run vs an uninterrupted one, and of two runs
# of one command. On CPU they are equal bit for bit; the tolerance leaves
# room for a different float summation order on other hardware.
REL_TOL = 1e-5
TRAIN_STEPS = 40


def _wait_for(predicate, timeout):
  deadline = time.time() + timeout
  while time.time() < deadline:
    if predicate():
      return True
    time.sleep(0.05)
  return False


def test_first_signal_requests_a_stop_and_handlers_are_restored():
  before = signal.getsignal(signal.SIGTERM)
  with graceful_stop.StopRequest() as request:
    assert request.installed
    assert not request.requested
    os.kill(os.getpid(), signal.SIGTERM)
    assert _wait_for(lambda: request.requested, 10)
    assert request.signum == signal.SIGTERM
  assert signal.getsignal(signal.SIGTERM) is before
  assert not request.installed


def test_install_outside_main_thread_is_skipped():
  results = []
  request = graceful_stop.StopRequest()
  thread = threading.Thread(target=lambda: results.append(request.install()))
  thread.start()
  thread.join()
  assert results == [False]
  request.uninstall()  # A no-op when not installed.


_SECOND_SIGNAL = textwrap.dedent("""
    import os, signal, sys, time
    from token_drop.core import graceful_stop
    request = graceful_stop.StopRequest(exit_at_once={exit_at_once})
    request.install()
    os.kill(os.getpid(), signal.SIGINT)
    deadline = time.time() + 20
    while not request.requested and time.time() < deadline:
      time.sleep(0.01)
    print('requested', request.requested, flush=True)
    os.kill(os.getpid(), signal.SIGINT)
    # A blocking call Python does not interrupt for its own handlers.
    time.sleep(30)
    print('not exited', flush=True)
""")


@pytest.mark.slow
@pytest.mark.parametrize('exit_at_once', [False, True])
def test_second_signal_or_nothing_to_save_exits_at_once(exit_at_once):
  start = time.time()
  result = subprocess.run(
      [sys.executable, '-c', _SECOND_SIGNAL.format(exit_at_once=exit_at_once)],
      cwd=tu.REPO_ROOT, capture_output=True, text=True, timeout=60,
      check=False)
  assert result.returncode == 130, result.stderr
  assert time.time() - start < 25
  assert 'not exited' not in result.stdout
  assert 'Traceback' not in result.stderr
  if exit_at_once:
    assert 'stopped by SIGINT: exiting (nothing to save)' in result.stderr
  else:
    assert 'requested True' in result.stdout
    assert 'stopped by SIGINT: exiting at once without saving' in (
        result.stderr)


def _override(steps=TRAIN_STEPS):
  # One step per loop: the summaries hold every step's loss, and a stop
  # comes right after the step running when the signal arrives.
  return tu.tiny_pretrain_override(
      train_steps=steps, steps_per_loop=1,
      extra='trainer.checkpoint_interval=10')


def _losses(model_dir):
  curve = run_metrics.read_scalars(os.path.join(model_dir, 'train'))
  return dict(curve['training_loss'])


def _assert_equal_losses(actual, expected):
  assert sorted(actual) == sorted(expected)
  for step, loss in expected.items():
    assert actual[step] == pytest.approx(loss, rel=REL_TOL), step


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
  model_dir = str(tmp_path_factory.mktemp('uninterrupted') / 'run')
  result = tu.run_train(model_dir, override=_override(), mode='train')
  assert result.returncode == 0, result.stderr[-3000:]
  return model_dir


@pytest.mark.slow
def test_two_runs_of_one_command_give_equal_losses(tmp_path, uninterrupted):
  model_dir = str(tmp_path / 'run')
  result = tu.run_train(model_dir, override=_override(), mode='train')
  assert result.returncode == 0, result.stderr[-3000:]
  expected = _losses(uninterrupted)
  assert len(expected) == TRAIN_STEPS
  _assert_equal_losses(_losses(model_dir), expected)


@pytest.mark.slow
def test_sigterm_saves_the_step_and_the_rerun_resumes_exactly(
    tmp_path, uninterrupted):
  model_dir = str(tmp_path / 'run')
  cmd = tu.train_command(model_dir, override=_override(), mode='train')
  proc = subprocess.Popen(cmd, cwd=tu.REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
  try:
    assert _wait_for(lambda: tf.train.latest_checkpoint(model_dir)
                     or proc.poll() is not None, 600)
    assert proc.poll() is None, 'the run ended before the signal'
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=300)
  finally:
    if proc.poll() is None:
      proc.kill()
  assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
  assert 'Traceback' not in stderr
  match = re.search(r'stopped by SIGTERM at step (\d+); checkpoint saved, '
                    r'rerun the same command to resume', stdout)
  assert match, stdout[-2000:]
  step = int(match.group(1))
  assert 0 < step < TRAIN_STEPS
  latest = tf.train.latest_checkpoint(model_dir)
  assert latest.endswith(f'ckpt-{step}')
  assert tf.train.load_checkpoint(latest).get_tensor(
      'global_step/.ATTRIBUTES/VARIABLE_VALUE') == step
  assert 'training_clock/seconds/.ATTRIBUTES/VARIABLE_VALUE' in dict(
      tf.train.list_variables(latest))

  result = subprocess.run(cmd, cwd=tu.REPO_ROOT, capture_output=True,
                          text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  # The console prints the resume on stdout (token_drop.core.console).
  assert f'restored from checkpoint: {latest}' in result.stdout
  assert tf.train.latest_checkpoint(model_dir).endswith(
      f'ckpt-{TRAIN_STEPS}')
  # Steps up to the stop come from the first process, later ones from the
  # resumed one: all equal the uninterrupted run's.
  _assert_equal_losses(_losses(model_dir), _losses(uninterrupted))
