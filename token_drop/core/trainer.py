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

"""tfm's Trainer and orbit's Controller with throughput and a time budget.

tfm's Controller already writes `steps_per_second`; the trainer adds
`tokens_per_second` (global batch x sequence length per step, padding
included) so that encoders that drop or narrow tokens are compared on the same
input rate, keeps the last train/eval logs for the driver's final report, and
runs the time budget of `token_drop.core.time_budget` for every experiment:
elapsed/remaining budget in the logs and summaries, the clock started and
stopped around every training loop, and a `StopTraining` raised by the
controller between loops once the budget is spent or the early stop fires
(or before the first loop when a resumed run has no budget left), or a
SIGTERM/SIGINT asked to stop (`token_drop.core.graceful_stop`). Checkpoints
also hold the dropout generators, and a resumed run skips the training
batches consumed before, so that it continues exactly
(`token_drop.core.reproducibility`).

The Controller prints one line per training loop and per evaluation
(`token_drop.core.console`); orbit's own messages stay in the absl log.
"""

import math
import time
from typing import Any, Dict, Optional

from absl import logging
import orbit
import tensorflow as tf

from official.core import base_trainer
from official.core import config_definitions as cfg
from official.modeling import optimization
from official.modeling import performance
from token_drop import compat
from token_drop.core import console
from token_drop.core import graceful_stop
from token_drop.core import reproducibility
from token_drop.core import time_budget


# The clock's name in checkpoints.
CLOCK_CHECKPOINT_NAME = 'training_clock'
# The dropout generators' name in checkpoints
# (`token_drop.core.reproducibility`).
RANDOM_GENERATORS_CHECKPOINT_NAME = 'random_generators'


def tokens_per_step(config) -> Optional[int]:
  """Global batch size x sequence length of the training data, if known."""
  data = getattr(config.task, 'train_data', None)
  batch = getattr(data, 'global_batch_size', None)
  seq_length = getattr(data, 'seq_length', None) or getattr(
      data, 'max_seq_length', None)
  if isinstance(batch, int) and isinstance(seq_length, int):
    return batch * seq_length
  return None


def budget_config(config: cfg.ExperimentConfig
                 ) -> time_budget.TimeBudgetConfig:
  """The experiment's time budget config (default if none)."""
  budget = getattr(config.trainer, 'time_budget', None)
  return budget if budget is not None else time_budget.TimeBudgetConfig()


class Trainer(base_trainer.Trainer):
  """Adds throughput and time-budget logs; remembers the latest logs.

  Args:
    *args: As for tfm's `base_trainer.Trainer`.
    clock: The run's `TrainingClock` (saved in checkpoints); one is created
      when not given.
    **kwargs: As for tfm's `base_trainer.Trainer`.
  """

  def __init__(self, *args, clock: Optional[time_budget.TrainingClock] = None,
               **kwargs):
    super().__init__(*args, **kwargs)
    self.clock = clock or time_budget.TrainingClock()
    checkpoint_items = dict(getattr(self.model, 'checkpoint_items', {}))
    generators = reproducibility.random_generators(self.model)
    if generators:
      checkpoint_items[RANDOM_GENERATORS_CHECKPOINT_NAME] = generators
    self._input_positioned = not getattr(self.config.runtime,
                                         'skip_consumed_input', False)
    compat.set_trainer_checkpoint(self, tf.train.Checkpoint(
        global_step=self.global_step, model=self.model,
        optimizer=self.optimizer, **{CLOCK_CHECKPOINT_NAME: self.clock},
        **checkpoint_items))
    # Set by the driver: SIGTERM/SIGINT stop the run between loops.
    self.stop_request: Optional[graceful_stop.StopRequest] = None
    self._budget = budget_config(self.config)
    self._tokens_per_step = tokens_per_step(self.config)
    self._loop_start = None
    self.stop_reason: Optional[str] = None
    self.stop_message = ''
    self.last_train_logs: Dict[str, Any] = {}
    self.last_eval_logs: Dict[str, Any] = {}
    self.last_steps_per_second: Optional[float] = None

  def _optimizer_step(self) -> int:
    # The step learning-rate schedules receive (it can differ from
    # global_step, e.g. after skipped float16 steps).
    iterations = getattr(self.optimizer, 'iterations', None)
    step = iterations if iterations is not None else self.global_step
    return int(step.numpy())

  def _default_seconds_per_step(self) -> float:
    """The fastest pace `train_steps` allows within the budget."""
    train_steps = self.config.trainer.train_steps
    if self._budget.budget_hours > 0 and train_steps > 0:
      return self._budget.budget_hours * 3600.0 / train_steps
    return 0.0

  def check_budget_left(self) -> bool:
    """Before a loop: False (and `stop_reason` `spent`) if none is left."""
    hours = self.clock.elapsed_hours()
    if time_budget.stop_reason(self._budget, hours) != 'budget':
      return True
    self.stop_reason = 'spent'
    self.stop_message = (
        f'time budget of {self._budget.budget_hours} h already spent '
        f'({hours:.4f} h trained) at step {int(self.global_step.numpy())}; '
        'raise trainer.time_budget.budget_hours to train on')
    return False

  def _position_input(self):
    """On resume, skips the training batches the restored steps consumed.

    tf.distribute's iterators cannot be checkpointed, so the input position
    is a function of the step instead (`runtime.skip_consumed_input`).
    """
    self._input_positioned = True
    step = int(self.global_step.numpy())
    if step <= 0:
      return
    num_replicas = self.strategy.num_replicas_in_sync
    task = self.task

    def skipped_inputs(params, input_context=None):
      dataset = task.build_inputs(params, input_context)
      pipelines = input_context.num_input_pipelines if input_context else 1
      # Each step takes one batch per replica fed by this pipeline.
      return dataset.skip(step * max(num_replicas // pipelines, 1))

    logging.info('resuming at step %d: skipping the training batches '
                 'consumed so far', step)
    # Replacing the dataset drops orbit's iterator; it makes a new one.
    self.train_dataset = self.distribute_dataset(
        skipped_inputs, self.config.task.train_data)

  def train_loop_begin(self):
    if not self._input_positioned:
      self._position_input()
    super().train_loop_begin()
    self._loop_start = (time.monotonic(), int(self.global_step.numpy()))
    self.clock.start(self._optimizer_step(), self._default_seconds_per_step())

  def train_loop_end(self):
    elapsed_hours = self.clock.stop(
        self._optimizer_step(), self.strategy,
        synchronize=time_budget.is_active(self._budget)) / 3600.0
    logs = super().train_loop_end()
    self.last_steps_per_second = None
    if self._loop_start:
      start_time, start_step = self._loop_start
      seconds = time.monotonic() - start_time
      steps = int(self.global_step.numpy()) - start_step
      if seconds > 0 and steps > 0:
        self.last_steps_per_second = steps / seconds
        if self._tokens_per_step:
          logs['tokens_per_second'] = (
              self.last_steps_per_second * self._tokens_per_step)
    logs['elapsed_training_hours'] = elapsed_hours
    if self._budget.budget_hours > 0:
      remaining = max(self._budget.budget_hours - elapsed_hours, 0.0)
      logs['budget_remaining_hours'] = remaining
      logging.info('time budget: %.4f h trained, %.4f h of %.4f h left',
                   elapsed_hours, remaining, self._budget.budget_hours)
      if self.stop_reason is None and time_budget.stop_reason(
          self._budget, elapsed_hours) == 'budget':
        self.stop_reason = 'budget'
        self.stop_message = (
            f'time budget of {self._budget.budget_hours} h spent at step '
            f'{int(self.global_step.numpy())}')
    self.last_train_logs = dict(logs)
    return logs

  def progress_line(self) -> str:
    """The console line of the last training loop (step, speed, ETA, loss)."""
    remaining = self.last_train_logs.get('budget_remaining_hours')
    return console.progress_line(
        int(self.global_step.numpy()), self.config.trainer.train_steps,
        self.last_steps_per_second, self.last_train_logs,
        None if remaining is None else float(remaining) * 3600.0)

  def eval_end(self, aggregated_logs=None):
    logs = super().eval_end(aggregated_logs)
    self.last_eval_logs = dict(logs)
    loss = logs.get(self.validation_loss.name)
    if loss is not None and self.stop_reason is None:
      loss = float(loss)
      reason = time_budget.stop_reason(
          self._budget, self.clock.elapsed_hours(), loss)
      if reason == 'early_stop':
        self.stop_reason = reason
        step = int(self.global_step.numpy())
        if math.isnan(loss):
          self.stop_message = (
              f'early stop at step {step}: validation loss is NaN')
        else:
          self.stop_message = (
              f'early stop at step {step}: validation loss {loss:.4g} above '
              f'{self._budget.early_stop_loss} after '
              f'{self._budget.early_stop_hours} h')
    return logs


class Controller(orbit.Controller):
  """Raises `StopTraining` after the loop or evaluation that ends a run.

  A SIGTERM/SIGINT (the trainer's `stop_request`) ends the run after the
  current loop, or before the next one when it came during evaluation.

  Also refuses to start a loop when the restored clock has already spent the
  budget (a re-run of a finished model_dir), and restores the float64 clock
  of checkpoints written by earlier versions. It prints one line per
  training loop and per evaluation; orbit's messages (and its metrics dicts)
  go to the absl log only, not also to stdout.
  """

  def __init__(self, *args, **kwargs):
    with console.orbit_echo_dropped():
      super().__init__(*args, **kwargs)

  def train(self, steps: int, checkpoint_at_completion: bool = True):
    with console.orbit_echo_dropped():
      return super().train(steps, checkpoint_at_completion)

  def train_and_evaluate(self, *args, **kwargs):
    with console.orbit_echo_dropped():
      return super().train_and_evaluate(*args, **kwargs)

  def evaluate_continuously(self, *args, **kwargs):
    with console.orbit_echo_dropped():
      return super().evaluate_continuously(*args, **kwargs)

  def save_checkpoint(self):
    with console.orbit_echo_dropped():
      return super().save_checkpoint()

  def restore_checkpoint(self, checkpoint_path: Optional[str] = None):
    with console.orbit_echo_dropped():
      path = super().restore_checkpoint(checkpoint_path)
    if path:
      # The one orbit message kept on the console: a resumed run says so.
      print(f'restored from checkpoint: {path}', flush=True)
    clock = getattr(self.trainer, 'clock', None)
    if path and clock is not None and clock.restore_legacy(
        path, f'{CLOCK_CHECKPOINT_NAME}/'):
      logging.info('%s: read the float64 training clock of an earlier '
                   'version: %.1f s', path, clock.elapsed_seconds())
    return path

  def _check_signal(self):
    """Turns a SIGTERM/SIGINT received so far into the stop reason."""
    trainer = self.trainer
    request = getattr(trainer, 'stop_request', None)
    if request is None or not request.requested or trainer.stop_reason:
      return
    trainer.stop_reason = 'signal'
    trainer.stop_message = (
        f'stopped by {graceful_stop.signal_name(request.signum)} at step '
        f'{int(trainer.global_step.numpy())}')

  def _check_stop(self):
    self._check_signal()
    trainer = self.trainer or self.evaluator
    reason = getattr(trainer, 'stop_reason', None)
    if reason and not getattr(self, '_stop_raised', False):
      self._stop_raised = True
      raise time_budget.StopTraining(reason, trainer.stop_message)

  # orbit has no public hook around each loop of `train`; this private method
  # is listed in compat.PRIVATE_ATTRIBUTES (checked by tests/test_compat.py).
  def _train_n_steps(self, num_steps: int):
    # A signal during start-up or evaluation stops before the next loop.
    self._check_stop()
    check = getattr(self.trainer, 'check_budget_left', None)
    if check is not None and not check():
      self._check_stop()
    with console.orbit_echo_dropped():
      super()._train_n_steps(num_steps)
    progress_line = getattr(self.trainer, 'progress_line', None)
    if progress_line is not None:
      print(progress_line(), flush=True)
    self._check_stop()

  def evaluate(self, steps: int = -1):
    with console.orbit_echo_dropped():
      logs = super().evaluate(steps)
    config = getattr(self.trainer or self.evaluator, 'config', None)
    if logs and config is not None:
      print(console.eval_line(int(self.global_step.numpy()),
                              config.trainer.train_steps, logs), flush=True)
    self._check_stop()
    return logs


def create_optimizer(task, params: cfg.ExperimentConfig,
                     clock: time_budget.TrainingClock):
  """The task's optimizer, or the time-based schedule's when configured."""
  budget = budget_config(params)
  budget.validate()
  if budget.learning_rate_schedule != 'time':
    return task.create_optimizer(params.trainer.optimizer_config,
                                 params.runtime)
  schedule = time_budget.TimeLinearSchedule(
      clock, budget.peak_learning_rate, budget.budget_hours,
      budget.warmup_proportion)
  factory = optimization.OptimizerFactory(params.trainer.optimizer_config)
  optimizer = factory.build_optimizer(schedule)
  return performance.configure_optimizer(
      optimizer,
      use_float16=params.runtime.mixed_precision_dtype == 'float16',
      loss_scale=params.runtime.loss_scale)


def create_trainer(params: cfg.ExperimentConfig, task, train: bool,
                   evaluate: bool, checkpoint_exporter=None,
                   clock: Optional[time_budget.TrainingClock] = None
                  ) -> Trainer:
  """Builds model, optimizer and `Trainer` (call inside the strategy scope).

  Args:
    params: The experiment config.
    task: The task.
    train: Whether the trainer trains.
    evaluate: Whether the trainer evaluates.
    checkpoint_exporter: tfm's best-checkpoint exporter, if any.
    clock: A `TrainingClock` to use (tests inject one with a fake time).

  Returns:
    The trainer.
  """
  clock = clock or time_budget.TrainingClock()
  model = task.build_model()
  optimizer = create_optimizer(task, params, clock)
  return Trainer(params, task, model=model, optimizer=optimizer, train=train,
                 evaluate=evaluate, checkpoint_exporter=checkpoint_exporter,
                 clock=clock)
