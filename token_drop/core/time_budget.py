"""Time-budgeted training (24-hour BERT / ExtremeBERT) for any experiment.

Izsak et al. (EMNLP 2021) and ExtremeBERT schedule the learning rate by
elapsed training time rather than by step: linear warmup over
`warmup_proportion` of the budget, then linear decay to zero at the budget,
where the run stops. An early stop ends runs whose validation loss is still
above a threshold after `early_stop_hours`.

Elapsed time is kept in a variable that is saved in checkpoints, so a resumed
run continues the schedule; only time spent inside training loops counts
(start-up, evaluation, checkpointing and time stopped do not). The clock
advances at the end of each loop of `trainer.steps_per_loop` steps, by the
largest time any replica measured, so every replica and worker sees the same
learning rate and stops at the same step; the learning rate is therefore
constant within a loop and the budget can be overrun by at most one loop.
"""

import dataclasses
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
    if self.learning_rate_schedule not in SCHEDULES:
      raise ValueError(
          f'trainer.time_budget.learning_rate_schedule='
          f'{self.learning_rate_schedule!r} is not one of {SCHEDULES}.')
    if self.learning_rate_schedule == 'time' and self.budget_hours <= 0:
      raise ValueError('trainer.time_budget.learning_rate_schedule=time needs '
                       'trainer.time_budget.budget_hours > 0.')
    if not 0.0 <= self.warmup_proportion < 1.0:
      raise ValueError('trainer.time_budget.warmup_proportion must be in '
                       f'[0, 1), got {self.warmup_proportion}.')


@dataclasses.dataclass
class TrainerConfig(cfg.TrainerConfig):
  """tfm's trainer config with a time budget."""
  time_budget: TimeBudgetConfig = dataclasses.field(
      default_factory=TimeBudgetConfig)


def upgrade_config(config: cfg.TrainerConfig) -> TrainerConfig:
  """Returns `config` as a `TrainerConfig` with the same values."""
  if isinstance(config, TrainerConfig):
    return config
  upgraded = TrainerConfig()
  upgraded.override(config.as_dict(), is_strict=False)
  return upgraded


class StopTraining(Exception):
  """Raised between training loops when the budget or early stop ends a run.

  Attributes:
    reason: `budget` or `early_stop`.
  """

  def __init__(self, reason: str, message: str):
    super().__init__(message)
    self.reason = reason


class TrainingClock(tf.Module):
  """Elapsed training time, checkpointed, advanced between training loops.

  Args:
    time_fn: Returns the current time in seconds; injectable for tests.
  """

  def __init__(self, time_fn: Callable[[], float] = time.monotonic,
               name: str = 'training_clock'):
    super().__init__(name=name)
    self._time_fn = time_fn
    self._segment_start = None
    self.elapsed_seconds = tf.Variable(
        0.0, dtype=tf.float64, trainable=False, name='elapsed_seconds',
        aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)

  def elapsed_hours(self) -> tf.Tensor:
    return self.elapsed_seconds / 3600.0

  def start(self):
    """Starts timing a training loop."""
    self._segment_start = self._time_fn()

  def stop(self, strategy: Optional[tf.distribute.Strategy] = None,
           synchronize: bool = True) -> float:
    """Adds the loop's time (the maximum over workers) to the elapsed time.

    Args:
      strategy: The run's strategy; its workers agree on the time added.
      synchronize: Take the maximum over workers. Needed only when the time
        drives the learning rate or the stop; otherwise each worker keeps its
        own time (for logs) and no collective runs.

    Returns:
      The elapsed training time in seconds.
    """
    if self._segment_start is None:
      return float(self.elapsed_seconds.numpy())
    delta = self._time_fn() - self._segment_start
    self._segment_start = None
    strategy = strategy or tf.distribute.get_strategy()
    if synchronize and strategy.num_replicas_in_sync > 1:
      per_replica = strategy.run(
          lambda: tf.constant([delta], dtype=tf.float64))
      # ReduceOp has no MAX: the slowest worker's time is taken through a
      # reduction over the replicas' values instead.
      values = strategy.experimental_local_results(
          strategy.gather(per_replica, axis=0))
      delta = tf.reduce_max(values[0])
    self.elapsed_seconds.assign_add(tf.cast(delta, tf.float64))
    return float(self.elapsed_seconds.numpy())


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
    del step  # Time, not the step, sets the learning rate.
    progress = tf.cast(self.clock.elapsed_hours() / self.budget_hours,
                       tf.float32)
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

  Args:
    config: The time budget.
    elapsed_hours: Training time so far.
    validation_loss: The latest validation loss, right after an evaluation.

  Returns:
    `budget`, `early_stop` or None.
  """
  if config.budget_hours > 0 and elapsed_hours >= config.budget_hours:
    return 'budget'
  if (validation_loss is not None and config.early_stop_hours > 0 and
      elapsed_hours >= config.early_stop_hours and
      validation_loss > config.early_stop_loss):
    return 'early_stop'
  return None
