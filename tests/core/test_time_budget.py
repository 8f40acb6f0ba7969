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

"""Time budget: schedule values, exit at the budget, resume, early stop,
config checks, and a training step without float64."""

import itertools
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.core import exp_factory
from official.core import task_factory
from official.core import train_utils
import train
from token_drop.core import config_parser
from token_drop.core import time_budget
from token_drop.core import trainer as trainer_lib
from token_drop.testing import distribute
from token_drop.testing import train_utils as tu


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
  clock.seconds.assign(elapsed_hours * 3600.0)
  schedule = time_budget.TimeLinearSchedule(
      clock, peak_learning_rate=1e-3, budget_hours=1.0,
      warmup_proportion=0.1)
  assert float(schedule(12345)) == pytest.approx(expected, abs=1e-9)


def test_clock_counts_only_training_loops_and_checkpoints(tmp_path):
  clock = time_budget.TrainingClock(time_fn=_fake_time(30.0))
  clock.start(0)
  assert clock.stop(10) == pytest.approx(30.0)
  clock.stop(10)  # Not started: time outside loops does not count.
  clock.start(10)
  assert clock.stop(20) == pytest.approx(60.0)
  path = tf.train.Checkpoint(clock=clock).save(str(tmp_path / 'c'))
  restored = time_budget.TrainingClock()
  tf.train.Checkpoint(clock=restored).restore(path).assert_consumed()
  assert restored.elapsed_seconds() == pytest.approx(60.0)
  assert float(restored.seconds_per_step.numpy()) == pytest.approx(3.0)


def test_learning_rate_follows_time_within_a_loop():
  # 2 h budget, 25% warmup: the peak is at 1800 s.
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  schedule = time_budget.TimeLinearSchedule(
      clock, peak_learning_rate=1e-3, budget_hours=2.0,
      warmup_proportion=0.25)
  clock.start(100)
  clock.stop(110)  # 900 s over 10 steps: 90 s per step, 900 s so far.
  clock.start(110)
  for step, seconds in ((110, 900.0), (111, 990.0), (115, 1350.0)):
    # Within the loop the time is extrapolated from the step, as a float
    # (e.g. legacy optimizers) or an integer.
    expected = 1e-3 * seconds / 1800.0
    assert float(schedule(float(step))) == pytest.approx(expected, rel=1e-6)
    assert float(schedule(step)) == pytest.approx(expected, rel=1e-6)


def test_first_loop_of_a_resumed_run_keeps_the_checkpointed_pace():
  clock = time_budget.TrainingClock(time_fn=_fake_time(100.0))
  clock.seconds.assign(3600.0)
  clock.seconds_per_step.assign(2.0)
  clock.start(50)
  clock.stop(60)  # 100 s for 10 steps, tracing included: not the pace.
  assert float(clock.seconds_per_step.numpy()) == pytest.approx(2.0)
  clock.start(60)
  clock.stop(70)
  assert float(clock.seconds_per_step.numpy()) == pytest.approx(10.0)


def test_clock_reads_the_float64_clock_of_earlier_checkpoints(tmp_path):

  class LegacyClock(tf.Module):

    def __init__(self):
      super().__init__()
      self.elapsed_seconds = tf.Variable(4321.5, dtype=tf.float64)

  path = tf.train.Checkpoint(training_clock=LegacyClock()).save(
      str(tmp_path / 'c'))
  clock = time_budget.TrainingClock()
  tf.train.Checkpoint(training_clock=clock).restore(path).expect_partial()
  assert clock.restore_legacy(path, 'training_clock/')
  assert clock.elapsed_seconds() == pytest.approx(4321.5)
  new_path = tf.train.Checkpoint(training_clock=clock).save(
      str(tmp_path / 'd'))
  assert not time_budget.TrainingClock().restore_legacy(
      new_path, 'training_clock/')


def test_stop_reason():
  config = time_budget.TimeBudgetConfig(budget_hours=2.0, early_stop_hours=1.0,
                                        early_stop_loss=3.0)
  assert time_budget.stop_reason(config, 1.9) is None
  assert time_budget.stop_reason(config, 2.0) == 'budget'
  assert time_budget.stop_reason(config, 0.5, validation_loss=9.0) is None
  assert time_budget.stop_reason(config, 1.5, validation_loss=2.0) is None
  assert time_budget.stop_reason(config, 1.5,
                                 validation_loss=9.0) == 'early_stop'


@pytest.mark.parametrize('config', [
    time_budget.TimeBudgetConfig(budget_hours=2.0, early_stop_hours=1.0,
                                 early_stop_loss=3.0),
    time_budget.TimeBudgetConfig(budget_hours=2.0),
])
def test_nan_validation_loss_stops_at_any_time(config):
  # As the reference's early stop: a diverged run stops, before
  # early_stop_hours too.
  assert time_budget.stop_reason(
      config, 0.1, validation_loss=float('nan')) == 'early_stop'


def test_nan_validation_loss_does_not_stop_runs_without_budget():
  assert time_budget.stop_reason(
      time_budget.TimeBudgetConfig(), 0.1,
      validation_loss=float('nan')) is None


def _parse(override, experiment='bert/pretraining'):
  options = train_utils.ParseConfigOptions(
      experiment=experiment,
      config_file=[os.path.join(tu.REPO_ROOT, tu.DEMO_DATA),
                   os.path.join(tu.REPO_ROOT, tu.TINY_BERT)],
      params_override=override)
  return config_parser.parse_configuration(options)


@pytest.mark.parametrize('override,message', [
    ('trainer.time_budget.budget_hours=-1,'
     'trainer.time_budget.learning_rate_schedule=time',
     'trainer.time_budget.budget_hours=-1'),
    ('trainer.time_budget.learning_rate_schedule=bogus',
     "trainer.time_budget.learning_rate_schedule='bogus' is not one of"),
    ('trainer.time_budget.warmup_proportion=2',
     'trainer.time_budget.warmup_proportion=2'),
    ('trainer.time_budget.budget_hours=1,'
     'trainer.time_budget.learning_rate_schedule=time,'
     'trainer.time_budget.peak_learning_rate=0',
     'trainer.time_budget.peak_learning_rate=0'),
    ('trainer.time_budget.early_stop_hours=1',
     'needs trainer.time_budget.early_stop_loss > 0'),
])
def test_config_parser_refuses_bad_time_budgets(override, message):
  with pytest.raises(config_parser.ConfigError) as error:
    _parse(override)
  assert message in str(error.value)
  assert '\n' not in str(error.value)


def test_config_parser_accepts_the_budget_bert_recipe():
  params = exp_factory.get_exp_config('budget_bert/pretraining')
  time_budget.validate(params.trainer)
  assert params.trainer.time_budget.learning_rate_schedule == 'time'


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


@pytest.mark.slow
def test_run_stops_at_budget_and_resume_continues_schedule(tmp_path):
  model_dir = str(tmp_path / 'run')
  # Every training loop (2 steps) takes a quarter of an hour.
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  trainer = _run(_params(budget_hours=1.0), model_dir, clock)
  assert trainer.stop_reason == 'budget'
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-8')
  assert 'validation_loss' in trainer.last_eval_logs
  assert trainer.clock.elapsed_seconds() == pytest.approx(3600.0)
  # Logged once the clock reached the 1 h budget: the decay is at zero.
  assert float(trainer.last_train_logs['learning_rate']) == pytest.approx(
      0.0, abs=1e-9)

  # A longer budget continues from the saved hour: 4 more loops, not 8.
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  trainer = _run(_params(budget_hours=2.0), model_dir, clock)
  assert trainer.stop_reason == 'budget'
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-16')
  assert trainer.clock.elapsed_seconds() == pytest.approx(7200.0)


@pytest.mark.slow
def test_rerun_of_a_spent_budget_exits_without_training(tmp_path):
  model_dir = str(tmp_path / 'run')
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  _run(_params(budget_hours=0.5), model_dir, clock)
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-4')

  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  trainer = _run(_params(budget_hours=0.5), model_dir, clock)
  assert trainer.stop_reason == 'spent'
  assert 'already spent' in trainer.stop_message
  assert int(trainer.global_step.numpy()) == 4
  assert not trainer.last_train_logs
  assert not trainer.last_eval_logs  # No second final evaluation either.
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-4')
  assert trainer.clock.elapsed_seconds() == pytest.approx(1800.0)


def _embedding_table(model):
  encoder = model.checkpoint_items['encoder']
  return encoder.get_embedding_table().numpy().copy()


def test_first_loop_extrapolates_with_the_default_pace():
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  clock.start(0, default_seconds_per_step=18.0)
  assert float(clock.seconds_at(0)) == 0.0
  assert float(clock.seconds_at(3)) == pytest.approx(54.0)
  clock.stop(2)  # The measured pace replaces the default one.
  assert float(clock.seconds_per_step.numpy()) == pytest.approx(450.0)
  clock.start(2, default_seconds_per_step=18.0)
  assert float(clock.seconds_at(3)) == pytest.approx(1350.0)


@pytest.mark.slow  # Among the costliest of the quick tier (5-15 CPU-s).
def test_first_loop_of_a_fresh_run_trains(monkeypatch):
  monkeypatch.chdir(tu.REPO_ROOT)
  params = _params(budget_hours=1.0)
  task = task_factory.get_task(params.task)
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  trainer = trainer_lib.create_trainer(params, task, train=True,
                                       evaluate=False, clock=clock)
  # Before any loop was measured the pace is budget / train_steps.
  assert trainer._default_seconds_per_step() == pytest.approx(3600.0 / 200)  # pylint: disable=protected-access
  before = _embedding_table(trainer.model)
  trainer.train(tf.constant(2))
  # A learning rate of zero leaves the weights (AdamW's decay included).
  assert not np.array_equal(before, _embedding_table(trainer.model))
  # The loop took 900 s (the fake time) for 2 steps.
  assert float(clock.seconds_per_step.numpy()) == pytest.approx(450.0)
  assert clock.elapsed_seconds() == pytest.approx(900.0)


def test_training_step_compiles_without_float64():
  params = exp_factory.get_exp_config('budget_bert/pretraining')
  clock = time_budget.TrainingClock()
  optimizer = trainer_lib.create_optimizer(None, params, clock)
  model = tf_keras.Sequential([tf_keras.layers.Dense(2)])
  model.build((None, 3))
  clock.seconds.assign(0.5 * 3600.0)
  clock.seconds_per_step.assign(10.0)
  clock.loop_start_step.assign(0)

  @tf.function(jit_compile=True)
  def step(x):
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(model(x) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    return loss

  x = tf.ones((4, 3))
  before = [w.numpy().copy() for w in model.weights]
  step(x)
  assert not np.array_equal(before[0], model.weights[0].numpy())
  graph = step.get_concrete_function(x).graph
  doubles = sorted({op.type for op in graph.get_operations()
                    for t in op.outputs if t.dtype == tf.float64})
  assert not doubles


@pytest.mark.slow
def test_learning_rate_follows_elapsed_time(tmp_path):
  clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  trainer = _run(_params(budget_hours=2.0), str(tmp_path / 'run'), clock)
  # Logged after the 8th loop, at 2.0 h: the decay has reached zero.
  assert float(trainer.last_train_logs['elapsed_training_hours']) == (
      pytest.approx(2.0))
  schedule = trainer.optimizer.learning_rate
  step = int(clock.loop_start_step.numpy())
  assert step == 16
  clock.seconds.assign(0.25 * 3600)  # Half of the 0.5 h warmup.
  assert float(schedule(step)) == pytest.approx(0.5e-3, rel=1e-6)
  clock.seconds.assign(1.25 * 3600)  # Half of the decay.
  assert float(schedule(step)) == pytest.approx(0.5e-3, rel=1e-6)
  # One step later: 450 s more (900 s per 2-step loop).
  assert float(schedule(step + 1)) == pytest.approx(
      1e-3 * (1.0 - (1.25 + 0.125 - 0.5) / 1.5), rel=1e-5)


@pytest.mark.slow
def test_clock_is_the_same_on_every_replica(tmp_path):
  strategy = distribute.two_cpu_mirrored_strategy()
  with strategy.scope():
    clock = time_budget.TrainingClock(time_fn=_fake_time(900.0))
  cwd = os.getcwd()
  os.chdir(tu.REPO_ROOT)
  try:
    trainer = train.run(_params(budget_hours=0.5), str(tmp_path / 'run'),
                        'train', strategy=strategy, clock=clock)
  finally:
    os.chdir(cwd)
  assert strategy.num_replicas_in_sync == 2
  assert trainer.stop_reason == 'budget'
  expected = {'seconds': 1800.0, 'seconds_per_step': 450.0,
              'loop_start_step': 4}
  for name, value in expected.items():
    replicas = strategy.experimental_local_results(getattr(clock, name))
    assert len(replicas) == 2
    for replica in replicas:
      assert float(replica.numpy()) == pytest.approx(value)


@pytest.mark.slow
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


@pytest.mark.slow
def test_cli_exits_zero_at_a_real_time_budget(tmp_path):
  result = tu.run_train(
      str(tmp_path / 'run'),
      override=tu.tiny_pretrain_override(
          train_steps=100000, steps_per_loop=2,
          extra='trainer.time_budget.budget_hours=0.0005'))
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'stopped: time budget of 0.0005 h spent at step' in result.stdout
  assert 'final validation metrics:' in result.stdout
