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

"""Time-budgeted training (24-hour BERT / ExtremeBERT) for our experiments.

Izsak et al. (EMNLP 2021) and ExtremeBERT schedule the learning rate by
elapsed training time rather than by step: linear warmup over
`warmup_proportion` of the budget, then linear decay to zero at the budget,
where the run stops. An early stop ends runs whose validation loss is still
above a threshold after `early_stop_hours`, or is NaN.

Elapsed time is kept in variables that are saved in checkpoints, so a resumed
run continues the schedule; only time spent inside training loops counts
(start-up, evaluation, checkpointing and time stopped do not). The reference
reads the wall clock at every step; a compiled training loop of
`trainer.steps_per_loop` steps cannot, and its replicas must agree on the
learning rate. So the clock is measured at the end of each loop (the largest
time any replica measured) and, inside a loop, the learning rate follows the
time extrapolated from the step: elapsed time at the loop start plus the
steps taken times the seconds per step of the previous loop. Before any loop
was measured, the seconds per step are `budget_hours / train_steps` (the
fastest pace `train_steps`, an upper bound, allows), so the first loop trains
at a small, rising learning rate instead of zero. The budget can be overrun
by at most one loop.

Only float32 and int64 values enter the training step (TPUs have no
float64); float32 seconds resolve 8 ms at 24 hours.
"""

import dataclasses
import functools
import math
import time
from typing import Callable, Optional

import tensorflow as tf
import tf_keras

from official.core import config_definitions as cfg
from official.modeling.hyperparams import base_config

SCHEDULES = ('step', 'time')


@dataclasses.dataclass
class TimeBudgetConfig(base_config.Config):
  """Time budget of a run.

  Attributes:
    budget_hours: Training time after which the run writes a checkpoint,
      evaluates and exits; 0 means no budget.
    learning_rate_schedule: `step` keeps `optimizer_config`'s schedule;
      `time` replaces it (and its warmup) with linear warmup over
      `warmup_proportion` of the budget to `peak_learning_rate`, then linear
      decay to zero at the budget.
    peak_learning_rate: Peak of the `time` schedule.
    warmup_proportion: Fraction of the budget spent warming up.
    early_stop_hours: After this much training time, an evaluation whose
      validation loss is above `early_stop_loss` stops the run; 0 disables.
    early_stop_loss: Threshold of the early stop.
  """
  budget_hours: float = 0.0
  learning_rate_schedule: str = 'step'
  peak_learning_rate: float = 1e-3
  warmup_proportion: float = 0.06
  early_stop_hours: float = 0.0
  early_stop_loss: float = 0.0

  def validate(self):
    """Raises `ValueError` naming the first `trainer.time_budget` mistake."""
    key = 'trainer.time_budget.'
    if self.learning_rate_schedule not in SCHEDULES:
      raise ValueError(
          f'{key}learning_rate_schedule={self.learning_rate_schedule!r} is '
          f'not one of {SCHEDULES}.')
    # `not x >= 0` also refuses NaN.
    for name in ('budget_hours', 'early_stop_hours'):
      value = getattr(self, name)
      if not value >= 0:
        raise ValueError(f'{key}{name}={value} must be >= 0 (0 disables).')
    if not 0.0 <= self.warmup_proportion < 1.0:
      raise ValueError(f'{key}warmup_proportion={self.warmup_proportion} '
                       'must be in [0, 1).')
    if self.learning_rate_schedule == 'time':
      if self.budget_hours <= 0:
        raise ValueError(f'{key}learning_rate_schedule=time needs '
                         f'{key}budget_hours > 0 (the learning rate decays '
                         'to zero at the budget).')
      if not self.peak_learning_rate > 0:
        raise ValueError(f'{key}peak_learning_rate='
                         f'{self.peak_learning_rate} must be > 0.')
    if self.early_stop_hours > 0 and not self.early_stop_loss > 0:
      raise ValueError(
          f'{key}early_stop_hours={self.early_stop_hours} needs '
          f'{key}early_stop_loss > 0 (got {self.early_stop_loss}: every '
          'evaluation would stop the run).')


def validate(trainer_config: cfg.TrainerConfig) -> None:
  """Validates `trainer_config.time_budget`, when the trainer has one.

  tfm's `ExperimentConfig.validate()` checks only its restrictions, never the
  sub-configs' `validate()`; the config parser calls this instead.

  Args:
    trainer_config: The experiment's trainer config.

  Raises:
    ValueError: naming the key and the expected value.
  """
  budget = getattr(trainer_config, 'time_budget', None)
  if budget is not None:
    budget.validate()


@dataclasses.dataclass
class TrainerConfig(cfg.TrainerConfig):
  """tfm's trainer config with a time budget."""
  time_budget: TimeBudgetConfig = dataclasses.field(
      default_factory=TimeBudgetConfig)


class StopTraining(Exception):
  """Raised between training loops when the budget or early stop ends a run.

  Attributes:
    reason: `budget` (spent now), `spent` (already spent when the run
      started: nothing was trained) or `early_stop`.
  """

  def __init__(self, reason: str, message: str):
    super().__init__(message)
    self.reason = reason


# Checkpoint key of the float64 clock of earlier versions.
LEGACY_SECONDS_KEY = 'elapsed_seconds/.ATTRIBUTES/VARIABLE_VALUE'


class TrainingClock(tf.Module):
  """Elapsed training time, checkpointed, measured between training loops.

  Inside a loop, `seconds_at(step)` extrapolates the time from the step with
  the previous loop's seconds per step; every value read there is a float32
  or int64 variable set between loops, identical on every replica.

  Args:
    time_fn: Returns the current time in seconds; injectable for tests.
    name: Module name.

  Attributes:
    seconds: Training seconds measured up to the end of the last loop.
    seconds_per_step: Pace used to extrapolate inside the current loop.
    loop_start_step: The optimizer step at which the current loop started.
  """

  def __init__(self, time_fn: Callable[[], float] = time.monotonic,
               name: str = 'training_clock'):
    super().__init__(name=name)
    self._time_fn = time_fn
    self._segment = None
    self._loops_measured = 0
    variable = functools.partial(
        tf.Variable, trainable=False,
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
    self.seconds = variable(0.0, dtype=tf.float32, name='seconds')
    self.seconds_per_step = variable(0.0, dtype=tf.float32,
                                     name='seconds_per_step')
    self.loop_start_step = variable(0, dtype=tf.int64,
                                    name='loop_start_step')

  def elapsed_seconds(self) -> float:
    """Training seconds measured up to the end of the last loop."""
    return float(self.seconds.numpy())

  def elapsed_hours(self) -> float:
    return self.elapsed_seconds() / 3600.0

  def seconds_at(self, step) -> tf.Tensor:
    """Training seconds at optimizer step `step` of the current loop.

    Args:
      step: The optimizer's step (int or float tensor, as optimizers pass it).

    Returns:
      float32 seconds: the loop's start time plus the steps taken since
      times `seconds_per_step`.
    """
    steps = tf.maximum(tf.cast(step, tf.int64) - self.loop_start_step, 0)
    return self.seconds + tf.cast(steps, tf.float32) * self.seconds_per_step

  def start(self, step: int, default_seconds_per_step: float = 0.0):
    """Starts timing a training loop.

    Args:
      step: The optimizer step at which the loop starts.
      default_seconds_per_step: Pace to extrapolate with when none was
        measured yet (a fresh run).
    """
    if self.elapsed_seconds() <= 0 and default_seconds_per_step > 0 and (
        float(self.seconds_per_step.numpy()) <= 0):
      self.seconds_per_step.assign(default_seconds_per_step)
    self.loop_start_step.assign(step)
    self._segment = (self._time_fn(), int(step))

  def stop(self, step: int,
           strategy: Optional[tf.distribute.Strategy] = None,
           synchronize: bool = True) -> float:
    """Adds the loop's time (the maximum over workers) to the elapsed time.

    Also sets the pace of the next loop to this loop's seconds per step,
    except after the first loop of a resumed process (its time includes
    tracing and compilation) when the checkpoint holds a measured pace.

    Args:
      step: The optimizer step at which the loop ended.
      strategy: The run's strategy; its workers agree on the time added.
      synchronize: Take the maximum over workers. Needed only when the time
        drives the learning rate or the stop; otherwise each worker keeps its
        own time (for logs) and no collective runs.

    Returns:
      The elapsed training time in seconds.
    """
    if self._segment is None:
      return self.elapsed_seconds()
    start_time, start_step = self._segment
    self._segment = None
    delta = self._time_fn() - start_time
    strategy = strategy or tf.distribute.get_strategy()
    if synchronize and strategy.num_replicas_in_sync > 1:
      per_replica = strategy.run(
          lambda: tf.constant([delta], dtype=tf.float32))
      # ReduceOp has no MAX: the slowest worker's time is taken through a
      # reduction over the replicas' values instead.
      values = strategy.experimental_local_results(
          strategy.gather(per_replica, axis=0))
      delta = float(tf.reduce_max(values[0]).numpy())
    steps = int(step) - start_step
    keep_restored_pace = (not self._loops_measured and
                          self.elapsed_seconds() > 0 and
                          float(self.seconds_per_step.numpy()) > 0)
    if steps > 0 and not keep_restored_pace:
      self.seconds_per_step.assign(delta / steps)
    self._loops_measured += 1
    self.seconds.assign_add(delta)
    self.loop_start_step.assign(step)
    return self.elapsed_seconds()

  def restore_legacy(self, checkpoint_path: str, prefix: str) -> bool:
    """Reads the float64 clock of a checkpoint written by earlier versions.

    Args:
      checkpoint_path: The restored checkpoint.
      prefix: This clock's key in it, e.g. `training_clock/`.

    Returns:
      Whether a legacy value was found (and assigned to `seconds`).
    """
    reader = tf.train.load_checkpoint(checkpoint_path)
    key = prefix + LEGACY_SECONDS_KEY
    if not reader.has_tensor(key) or reader.has_tensor(
        prefix + 'seconds/.ATTRIBUTES/VARIABLE_VALUE'):
      return False
    self.seconds.assign(float(reader.get_tensor(key)))
    return True


class TimeLinearSchedule(
    tf_keras.optimizers.schedules.LearningRateSchedule):
  """Linear warmup then linear decay to zero, by elapsed training time.

  Args:
    clock: The run's `TrainingClock`.
    peak_learning_rate: Learning rate at the end of warmup.
    budget_hours: The learning rate reaches zero here.
    warmup_proportion: Fraction of the budget spent warming up.
  """

  def __init__(self, clock: TrainingClock, peak_learning_rate: float,
               budget_hours: float, warmup_proportion: float):
    super().__init__()
    self.clock = clock
    self.peak_learning_rate = peak_learning_rate
    self.budget_hours = budget_hours
    self.warmup_proportion = warmup_proportion

  def __call__(self, step):
    # The time extrapolated from the step, not the step, sets the rate.
    progress = self.clock.seconds_at(step) / (self.budget_hours * 3600.0)
    warmup = self.warmup_proportion
    if warmup > 0:
      rising = progress / warmup
    else:
      rising = tf.ones_like(progress)
    falling = (1.0 - progress) / (1.0 - warmup)
    fraction = tf.clip_by_value(tf.minimum(rising, falling), 0.0, 1.0)
    return self.peak_learning_rate * fraction

  def get_config(self):
    return {'peak_learning_rate': self.peak_learning_rate,
            'budget_hours': self.budget_hours,
            'warmup_proportion': self.warmup_proportion}


def is_active(config: TimeBudgetConfig) -> bool:
  """Whether elapsed time can change the learning rate or end the run."""
  return (config.budget_hours > 0 or config.early_stop_hours > 0 or
          config.learning_rate_schedule == 'time')


def stop_reason(config: TimeBudgetConfig, elapsed_hours: float,
                validation_loss: Optional[float] = None) -> Optional[str]:
  """Why the run must stop now (`budget`, `early_stop`), or None.

  A NaN validation loss stops an active budget at any time, as the
  reference's early stop does.

  Args:
    config: The time budget.
    elapsed_hours: Training time so far.
    validation_loss: The latest validation loss, right after an evaluation.

  Returns:
    `budget`, `early_stop` or None.
  """
  if config.budget_hours > 0 and elapsed_hours >= config.budget_hours:
    return 'budget'
  if validation_loss is None:
    return None
  if math.isnan(validation_loss) and (config.budget_hours > 0 or
                                      config.early_stop_hours > 0):
    return 'early_stop'
  if (config.early_stop_hours > 0 and
      elapsed_hours >= config.early_stop_hours and
      validation_loss > config.early_stop_loss):
    return 'early_stop'
  return None
