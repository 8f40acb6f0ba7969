"""Time budget: schedule values, exit at the budget, resume, early stop."""

import itertools
import os

import pytest
import tensorflow as tf

from official.core import train_utils
import train
import train_utils_for_tests as tu
from token_drop.core import config_parser
from token_drop.core import time_budget


def _fake_time(seconds_per_call):
  """A time source advancing by a fixed amount at every call."""
  counter = itertools.count()
  return lambda: next(counter) * seconds_per_call


@pytest.mark.parametrize('elapsed_hours,expected', [
    (0.0, 0.0),
    (0.05, 0.5e-3),    # Half-way through the 10% warmup.
    (0.1, 1e-3),       # Peak.
    (0.55, 0.5e-3),    # Half-way through the decay.
    (1.0, 0.0),        # Budget spent.
    (1.5, 0.0),
])
def test_time_schedule_values(elapsed_hours, expected):
  clock = time_budget.TrainingClock()
  clock.elapsed_seconds.assign(elapsed_hours * 3600.0)
  schedule = time_budget.TimeLinearSchedule(
      clock, peak_learning_rate=1e-3, budget_hours=1.0,
      warmup_proportion=0.1)
  assert float(schedule(12345)) == pytest.approx(expected, abs=1e-9)


def test_clock_counts_only_training_loops_and_checkpoints(tmp_path):
  clock = time_budget.TrainingClock(time_fn=_fake_time(30.0))
  clock.start()
  assert clock.stop() == pytest.approx(30.0)
  clock.stop()  # Not started: time outside loops does not count.
  clock.start()
  assert clock.stop() == pytest.approx(60.0)
  path = tf.train.Checkpoint(clock=clock).save(str(tmp_path / 'c'))
  restored = time_budget.TrainingClock()
  tf.train.Checkpoint(clock=restored).restore(path).assert_consumed()
  assert float(restored.elapsed_seconds.numpy()) == pytest.approx(60.0)


def test_stop_reason():
  config = time_budget.TimeBudgetConfig(budget_hours=2.0, early_stop_hours=1.0,
                                        early_stop_loss=3.0)
  assert time_budget.stop_reason(config, 1.9) is None
  assert time_budget.stop_reason(config, 2.0) == 'budget'
  assert time_budget.stop_reason(config, 0.5, validation_loss=9.0) is None
  assert time_budget.stop_reason(config, 1.5, validation_loss=2.0) is None
  assert time_budget.stop_reason(config, 1.5,
                                 validation_loss=9.0) == 'early_stop'


def _params(budget_hours, extra=''):
  override = tu.tiny_pretrain_override(
      train_steps=200, steps_per_loop=2,
      extra=('trainer.validation_interval=4,'
             f'trainer.time_budget.budget_hours={budget_hours},'
             'trainer.time_budget.learning_rate_schedule=time,'
             'trainer.time_budget.peak_learning_rate=0.001,'
             'trainer.time_budget.warmup_proportion=0.25' + extra))
  options = train_utils.ParseConfigOptions(
      experiment='bert/pretraining',
      config_file=[os.path.join(tu.REPO_ROOT, tu.DEMO_DATA),
                   os.path.join(tu.REPO_ROOT, tu.TINY_BERT)],
      params_override=override)
  return config_parser.parse_configuration(options)


def _run(params, model_dir, clock):
  cwd = os.getcwd()
  os.chdir(tu.REPO_ROOT)
  try:
    return train.run(params, model_dir, 'train_and_eval', clock=clock)
  finally:
    os.chdir(cwd)


def test_run_stops_at_budget_and_resume_continues_schedule(tmp_path):
  model_dir = str(tmp_path / 'run')
  # Every training loop (2 steps) takes a quarter of an hour.
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  trainer = _run(_params(budget_hours=1.0), model_dir, clock)
  assert trainer.stop_reason == 'budget'
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-8')
  assert 'validation_loss' in trainer.last_eval_logs
  assert float(trainer.clock.elapsed_seconds.numpy()) == pytest.approx(3600.0)
  # Logged once the clock reached the 1 h budget: the decay is at zero.
  assert float(trainer.last_train_logs['learning_rate']) == pytest.approx(
      0.0, abs=1e-9)

  # A longer budget continues from the saved hour: 4 more loops, not 8.
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  trainer = _run(_params(budget_hours=2.0), model_dir, clock)
  assert trainer.stop_reason == 'budget'
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-16')
  assert float(trainer.clock.elapsed_seconds.numpy()) == pytest.approx(7200.0)


def test_learning_rate_follows_elapsed_time(tmp_path):
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  trainer = _run(_params(budget_hours=2.0), str(tmp_path / 'run'), clock)
  # Logged after the 8th loop, at 2.0 h: the decay has reached zero.
  assert float(trainer.last_train_logs['elapsed_training_hours']) == (
      pytest.approx(2.0))
  schedule = trainer.optimizer.learning_rate
  clock.elapsed_seconds.assign(0.25 * 3600)  # Half of the 0.5 h warmup.
  assert float(schedule(0)) == pytest.approx(0.5e-3, rel=1e-6)
  clock.elapsed_seconds.assign(1.25 * 3600)  # Half of the decay.
  assert float(schedule(0)) == pytest.approx(0.5e-3, rel=1e-6)


def test_early_stop_fires_after_early_stop_time(tmp_path):
  model_dir = str(tmp_path / 'run')
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  params = _params(budget_hours=10.0,
                   extra=(',trainer.time_budget.early_stop_hours=0.75,'
                          'trainer.time_budget.early_stop_loss=0.01'))
  trainer = _run(params, model_dir, clock)
  assert trainer.stop_reason == 'early_stop'
  # Evaluations run every 4 steps (0.5 h); the first one at or after 0.75 h
  # is at step 8 (1.0 h).
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-8')


def test_cli_exits_zero_at_a_real_time_budget(tmp_path):
  result = tu.run_train(
      str(tmp_path / 'run'),
      override=tu.tiny_pretrain_override(
          train_steps=100000, steps_per_loop=2,
          extra='trainer.time_budget.budget_hours=0.0005'))
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'stopped: time budget of 0.0005 h spent at step' in result.stdout
  assert 'final validation metrics:' in result.stdout
