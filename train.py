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

"""Model Garden training driver for every token_drop experiment.

Usage (stack config files; later ones and --params_override win):

  python train.py --experiment=token_drop_bert/pretraining \
    --config_file=configs/demo/pretrain_demo.yaml \
    --config_file=configs/demo/tiny_token_drop.yaml \
    --params_override=trainer.train_steps=200 \
    --mode=train_and_eval --model_dir=/tmp/token_drop_demo

It is tfm's `official/nlp/train.py` flow (standard tfm flags, params.yaml in
model_dir, mixed precision and distribution strategy from `runtime`,
`train_lib.run_experiment`) with three additions: `import experiments`
registers this project's experiments next to tfm's (`bert/pretraining` stays
available as the baseline), configuration and input errors are reported by file
and key before any training, `trainer.time_budget` can end any run of the
experiments registered in `experiments/` at a time budget or early stop (final
checkpoint, evaluation, exit 0), and the run ends with a short report. SIGTERM
and Ctrl-C stop training gracefully (checkpoint, then exit 128 + signal;
`token_drop.core.graceful_stop`), and `runtime.seed` makes runs and resumes
repeatable (`token_drop.core.reproducibility`).
"""

import json
import os
import sys
from typing import Optional

# TensorFlow's C++ INFO lines (CUDA probing, CPU features) are printed when it
# is imported, before flags exist; any --verbosity (or a preset variable)
# keeps them.
if not any(arg.split('=')[0] in ('--verbosity', '-v') for arg in sys.argv):
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '1')

# pylint: disable=g-import-not-at-top,wrong-import-position
from absl import flags
from absl import logging
import gin
import tensorflow as tf

# pylint: disable=unused-import
# Registers this project's and tfm's experiments.
import experiments  # noqa: F401
# pylint: enable=unused-import
from official.common import distribute_utils
from official.common import flags as tfm_flags
from official.core import task_factory
from official.core import train_lib
from official.core import train_utils
from official.modeling import performance
from token_drop.core import config_parser
from token_drop.core import console
from token_drop.core import errors
from token_drop.core import graceful_stop
from token_drop.core import model_dir as model_dir_lib
from token_drop.core import preflight
from token_drop.core import reproducibility
from token_drop.core import time_budget
from token_drop.core import trainer as trainer_lib
# pylint: enable=g-import-not-at-top,wrong-import-position

FLAGS = flags.FLAGS

flags.DEFINE_bool(
    'enable_async_checkpointing', default=False,
    help='Write checkpoints in a background thread.')


def _float_logs(logs) -> dict:
  """The scalar entries of a logs dict, as Python floats."""
  values = {}
  for key, value in logs.items():
    try:
      values[key] = float(value)
    except (TypeError, ValueError):
      continue
  return values


def _format_logs(logs) -> str:
  return ', '.join(f'{key}={value:.4g}'
                   for key, value in sorted(_float_logs(logs).items()))


def write_metrics(trainer, model_dir: str) -> None:
  """Writes the run's final train and validation metrics to metrics.json.

  Scripts and users read results from this file instead of the console; the
  chief alone writes it, like checkpoints and summaries.

  Args:
    trainer: The trainer of the finished run.
    model_dir: The run's model_dir.
  """
  if not trainer.strategy.extended.should_checkpoint:
    return
  metrics = {'step': int(trainer.global_step.numpy()),
             'train': _float_logs(trainer.last_train_logs),
             'validation': _float_logs(trainer.last_eval_logs)}
  with tf.io.gfile.GFile(os.path.join(model_dir, 'metrics.json'), 'w') as f:
    f.write(json.dumps(metrics, indent=2, sort_keys=True) + '\n')


def run(params, model_dir: str, mode: str,
        strategy: Optional[tf.distribute.Strategy] = None,
        enable_async_checkpointing: bool = False,
        clock: Optional[time_budget.TrainingClock] = None,
        save_params: bool = False):
  """Runs the experiment (`_run`); SIGTERM/SIGINT stop it gracefully.

  The first signal stops training after the current loop, writes a
  checkpoint and exits with 128 + the signal number; a second one exits at
  once (`token_drop.core.graceful_stop`). Multi-worker runs keep tfm's
  preemption handler instead.

  Args: as for `_run`.

  Returns:
    The trainer, holding the last train and eval logs.
  """
  stop_request = graceful_stop.StopRequest(exit_at_once='train' not in mode)
  if not graceful_stop.is_multi_worker(params, strategy):
    stop_request.install()
  try:
    return _run(params, model_dir, mode, strategy=strategy,
                enable_async_checkpointing=enable_async_checkpointing,
                clock=clock, save_params=save_params,
                stop_request=stop_request)
  finally:
    stop_request.uninstall()


def _run(params, model_dir: str, mode: str,
         strategy: Optional[tf.distribute.Strategy] = None,
         enable_async_checkpointing: bool = False,
         clock: Optional[time_budget.TrainingClock] = None,
         save_params: bool = False,
         stop_request: Optional[graceful_stop.StopRequest] = None):
  """Builds the strategy, task and trainer and runs the experiment.

  Nothing is written to `model_dir` until the checks have passed and the
  model has been built and restored (`token_drop.core.model_dir`).

  Args:
    params: A locked `ExperimentConfig`.
    model_dir: Where checkpoints, summaries and params.yaml go.
    mode: One of tfm's modes (train, eval, train_and_eval, continuous_eval).
    strategy: A strategy to use instead of the one `params.runtime` describes
      (e.g. MirroredStrategy over logical CPU devices).
    enable_async_checkpointing: Write checkpoints in a background thread.
    clock: The training clock (tests inject one with a fake time source).
    save_params: Write params.yaml (a resumed run keeps its original and
      gets a dated copy of a changed config) once the model is restored.
    stop_request: SIGTERM/SIGINT, checked between training loops.

  Returns:
    The trainer, holding the last train and eval logs.
  """
  preflight.check(params)
  model_dir_lib.check_mode(model_dir, mode)
  # Seeds before any model or dataset is built.
  reproducibility.configure(params.runtime)
  if params.runtime.mixed_precision_dtype:
    performance.set_mixed_precision_policy(params.runtime.mixed_precision_dtype)
  strategy = strategy or distribute_utils.get_distribution_strategy(
      distribution_strategy=params.runtime.distribution_strategy,
      all_reduce_alg=params.runtime.all_reduce_alg,
      num_gpus=params.runtime.num_gpus,
      tpu_address=params.runtime.tpu,
      **params.runtime.model_parallelism())
  with strategy.scope():
    task = task_factory.get_task(params.task, logging_dir=model_dir)
    trainer = trainer_lib.create_trainer(
        params, task, train='train' in mode, evaluate='eval' in mode,
        checkpoint_exporter=train_lib.maybe_create_best_ckpt_exporter(
            params, model_dir),
        clock=clock)
  trainer.stop_request = stop_request
  # Before orbit's Controller restores (and tfm writes anything). In the
  # strategy's scope: the init_checkpoint check may build a lazily built
  # encoder's variables with a dummy call.
  with strategy.scope():
    model_dir_lib.check_checkpoint_matches(trainer.model, model_dir, params)
  if 'train' in mode and strategy.extended.should_checkpoint:
    model_dir_lib.remove_temp_checkpoints(model_dir)
  runner = train_lib.OrbitExperimentRunner(
      distribution_strategy=strategy, task=task, mode=mode, params=params,
      model_dir=model_dir, trainer=trainer,
      controller_cls=trainer_lib.Controller,
      save_summary=strategy.extended.should_checkpoint,
      enable_async_checkpointing=enable_async_checkpointing)
  if save_params:
    model_dir_lib.save_params(params, model_dir)
  try:
    runner.run()
  except time_budget.StopTraining as stop:
    # Every worker takes part in the save (non-chiefs write to a temp dir).
    logging.info('%s: writing a final checkpoint', stop)
    if stop.reason == 'signal':
      _save_and_exit(runner.checkpoint_manager, trainer, stop, stop_request)
    print(f'stopped: {stop}')
    runner.checkpoint_manager.save(
        checkpoint_number=trainer.global_step, check_interval=False)
    if stop.reason == 'budget' and 'eval' in mode:
      with strategy.scope():
        runner.controller.evaluate(steps=params.trainer.validation_steps)
  return trainer


def _save_and_exit(checkpoint_manager, trainer, stop, stop_request):
  """Checkpoints the step a signal stopped at, then exits 128 + signal."""
  step = int(trainer.global_step.numpy())
  latest = checkpoint_manager.latest_checkpoint
  # A stop during evaluation comes after orbit saved this step.
  if not latest or not latest.endswith(f'-{step}'):
    checkpoint_manager.save(checkpoint_number=step, check_interval=False)
  checkpoint_manager.sync()  # Finishes an async write before exiting.
  print(f'{stop}; checkpoint saved, rerun the same command to resume',
        flush=True)
  sys.exit(graceful_stop.exit_code(stop_request.signum))


def main(_):
  """Trains and/or evaluates the experiment the flags describe."""
  # One progress line per loop and each log line once; --verbosity=0 shows
  # every INFO line (orbit's per-loop metrics dicts included).
  console.quiet_logs(verbosity_given=FLAGS['verbosity'].present)
  gin.parse_config_files_and_bindings(FLAGS.gin_file, FLAGS.gin_params)
  params = config_parser.parse_configuration(FLAGS)
  model_dir = FLAGS.model_dir
  # Eval-only jobs must not race the train job writing params.yaml.
  trainer = run(params, model_dir, FLAGS.mode,
                enable_async_checkpointing=FLAGS.enable_async_checkpointing,
                save_params='train' in FLAGS.mode)
  train_utils.save_gin_config(FLAGS.mode, model_dir)
  write_metrics(trainer, model_dir)
  if trainer.last_train_logs:
    print(f'final train metrics: {_format_logs(trainer.last_train_logs)}')
  if trainer.last_eval_logs:
    print(f'final validation metrics: {_format_logs(trainer.last_eval_logs)}')
  print(f'checkpoints and summaries in {os.path.abspath(model_dir)}; watch '
        f'with: tensorboard --logdir {os.path.abspath(model_dir)}')


def define_flags():
  """Defines tfm's flags; experiment, mode, model_dir required."""
  tfm_flags.define_flags()
  flags.mark_flags_as_required(['experiment', 'mode', 'model_dir'])


def run_main():
  """Console-script entry point (`token-drop-train`).

  A user error (`token_drop.core.errors.UserError`, a bad flag) ends the run
  with one `error: ...` line on stderr and exit code 2.
  """
  define_flags()
  errors.run_main(main)


if __name__ == '__main__':
  run_main()
