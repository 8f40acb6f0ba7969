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

r"""Quality at equal compute: pretrain the methods side by side and compare.

  python -m token_drop.benchmarks.pretraining_quality \
    [--methods=bert,token_drop,narrow_bert] [--train_steps=1000] \
    [--num_layers=6 --hidden_size=256 --seq_length=128 --token_keep_k=64] \
    [--train_input=... --valid_input=... --vocab_file=...] [--update_docs]

1. Pretrains the same small BERT with each method's experiment through
   train.py, on the same data (text input, dynamic masking with the same
   seed), vocabulary, optimizer (AdamW), schedule (linear warmup and decay to
   zero), batch and steps. Every `--eval_every` steps train.py evaluates the
   held-out masked-LM loss and accuracy on `--valid_input`.
2. Reads the curves from the runs' TensorBoard event files (validation
   `lm_example_loss` and `masked_lm_accuracy`; train `elapsed_training_hours`,
   the training clock, which counts time inside training loops only) and adds
   the training FLOPs so far, computed from the shapes
   (`token_drop.benchmarks.flops`: matmul FLOPs, forward x 3 for forward and
   backward; Bort adds its teacher's forward pass).
3. Fine-tunes each final checkpoint on the bundled reviews (accuracy) and the
   bundled NER tweets (seqeval F1), `--finetune_seeds` times each (the seed
   sets the training data order), and reads `metrics.json`.
4. Writes `results.json`, `table.md` and two plots (held-out MLM loss against
   training FLOPs and against training seconds) to `--work_dir`; with
   `--update_docs` also the plots under docs/images/ and the section
   "## Pretraining quality at equal compute" of docs/benchmarks.md.

Runs are resumed: a method or fine-tuning run whose model_dir already holds a
finished run is read, not trained again (delete `--work_dir` to start over).
Methods: `bert` (`bert/pretraining`, the baseline), `token_drop`,
`narrow_bert`, `budget_bert` (pre-LN BERT; the tool keeps the shared step
schedule so that all methods train alike), `bort` (a `--bort_num_layers`
student with intermediate size `--bort_intermediate_size`, distilled from the
baseline's final checkpoint, so `bert` must be in `--methods`).
"""

import dataclasses
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Optional, Tuple

from absl import flags
import yaml

from token_drop.benchmarks import common
from token_drop.benchmarks import flops
from token_drop.core import errors
from token_drop.encoders import token_drop_bert
from token_drop.tools import run_metrics

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SECTION = '## Pretraining quality at equal compute'
BASELINE = 'bert'

FLAGS = flags.FLAGS


def define_flags():
  """Defines the tool's flags.

  Called when the tool runs, not on import: tests import the module beside
  modules that define absl flags of the same names (e.g. vocab_file).
  """
  flags.DEFINE_list('methods', ['bert', 'token_drop', 'narrow_bert'],
                    'Methods to compare (bert, token_drop, narrow_bert, '
                    'budget_bert, bort); bert is the baseline.')
  flags.DEFINE_string('train_input', 'data/corpus/demo_train.txt',
                      'Training corpus (text: one sentence per line, blank '
                      'line between documents; globs allowed).')
  flags.DEFINE_string('valid_input', 'data/corpus/demo_valid.txt',
                      'Held-out corpus for the masked-LM curves.')
  flags.DEFINE_string('vocab_file', 'data/vocab/bert_en_uncased_vocab.txt',
                      'WordPiece vocabulary (its size sets vocab_size).')
  flags.DEFINE_bool('do_lower_case', True, 'Lower-case the text.')
  flags.DEFINE_integer('num_layers', 6, 'Encoder layers.')
  flags.DEFINE_integer('hidden_size', 256, 'Hidden size.')
  flags.DEFINE_integer('num_attention_heads', 4, 'Attention heads.')
  flags.DEFINE_integer('intermediate_size', 0,
                       'Feed-forward size (0: 4 x hidden_size).')
  flags.DEFINE_integer('seq_length', 128, 'Pretraining sequence length.')
  flags.DEFINE_integer('max_predictions_per_seq', 20,
                       'Masked-LM predictions per sequence.')
  flags.DEFINE_integer('token_keep_k', 64, 'Token dropping: tokens kept.')
  flags.DEFINE_float('token_loss_beta', None,
                     "Token dropping: the importance table's moving-average "
                     'factor (default: the encoder default, 0.995 as in the '
                     'paper).')
  flags.DEFINE_integer('full_length_layers', 2,
                       'NarrowBERT: full-length layers before the narrow ones.')
  flags.DEFINE_integer('bort_num_layers', 4, 'Bort: student layers.')
  flags.DEFINE_integer('bort_intermediate_size', 0,
                       'Bort: student feed-forward size (0: 3/4 hidden_size, '
                       "Bort's 768/1024).")
  flags.DEFINE_integer('train_steps', 1000, 'Pretraining steps (every method).')
  flags.DEFINE_integer('batch_size', 32, 'Pretraining global batch size.')
  flags.DEFINE_float('learning_rate', 5e-4, 'Peak pretraining learning rate.')
  flags.DEFINE_float('warmup_proportion', 0.1,
                     'Share of train_steps spent warming up.')
  flags.DEFINE_integer('eval_every', 100,
                       'Steps between held-out evaluations (also the loop).')
  flags.DEFINE_integer('eval_steps', 20,
                       'Held-out batches per evaluation (-1: the whole file).')
  flags.DEFINE_integer('seed', 1, 'Data order and masking seed (all methods).')
  flags.DEFINE_integer('finetune_seeds', 3,
                       'Fine-tuning runs per model and task (0: none).')
  flags.DEFINE_integer('finetune_steps', 0,
                       "Fine-tuning steps (0: the demo configs' 150 / 200).")
  flags.DEFINE_integer('finetune_seq_length', 0,
                       "Fine-tuning sequence length (0: the demo configs' 128 "
                       'for reviews, 64 for NER).')
  flags.DEFINE_string('work_dir', '/tmp/token_drop_pretraining_quality',
                      'Where runs, logs, results.json, table.md and plots go.')
  flags.DEFINE_bool('update_docs', False,
                    'Also write the plots to docs/images/ and the section of '
                    'docs/benchmarks.md.')


class ToolError(errors.UserError):
  """A flag or run problem, reported as one line."""


@dataclasses.dataclass(frozen=True)
class Sizes:
  """The shapes every method shares."""
  layers: int
  hidden: int
  heads: int
  inner: int
  seq: int
  preds: int
  batch: int
  vocab: int
  keep: int
  full_length_layers: int
  bort_layers: int
  bort_inner: int


@dataclasses.dataclass(frozen=True)
class Method:
  """How one method pretrains and fine-tunes."""
  name: str
  experiment: str
  sentence_experiment: str
  tagging_experiment: str
  label: str


METHODS = {
    'bert': Method('bert', 'bert/pretraining', 'finetuning/sentence_prediction',
                   'finetuning/tagging', 'BERT (baseline)'),
    'token_drop': Method('token_drop', 'token_drop_bert/pretraining',
                         'finetuning/sentence_prediction',
                         'finetuning/tagging', 'token dropping'),
    'narrow_bert': Method('narrow_bert', 'narrow_bert/pretraining',
                          'narrow_bert/sentence_prediction',
                          'narrow_bert/tagging', 'NarrowBERT'),
    'budget_bert': Method('budget_bert', 'budget_bert/pretraining',
                          'budget_bert/sentence_prediction',
                          'budget_bert/tagging', 'pre-LN BERT (budget_bert)'),
    'bort': Method('bort', 'bort/pretraining_distillation',
                   'finetuning/sentence_prediction', 'finetuning/tagging',
                   'Bort (distilled from the baseline)'),
}


def vocab_size(path: str) -> int:
  """Number of lines (tokens) of the vocabulary file at `path`."""
  with open(path, encoding='utf-8') as f:
    return sum(1 for _ in f)


def sizes_from_flags() -> Sizes:
  """The shared shapes, checked."""
  unknown = [m for m in FLAGS.methods if m not in METHODS]
  if unknown:
    raise ToolError(f'--methods: unknown {unknown}; expected some of '
                    f'{sorted(METHODS)}')
  if BASELINE not in FLAGS.methods:
    raise ToolError(f'--methods must include the baseline {BASELINE!r}')
  for name in ('train_input', 'valid_input', 'vocab_file'):
    path = getattr(FLAGS, name)
    if not any(os.path.exists(p) for p in _glob(path)):
      raise ToolError(f'--{name}={path}: no such file')
  for name in ('train_steps', 'eval_every', 'batch_size', 'num_layers',
               'hidden_size', 'seq_length', 'max_predictions_per_seq'):
    if getattr(FLAGS, name) <= 0:
      raise ToolError(f'--{name}={getattr(FLAGS, name)} must be positive')
  if FLAGS.finetune_seeds < 0:
    raise ToolError(f'--finetune_seeds={FLAGS.finetune_seeds} must be >= 0')
  if FLAGS.train_steps % FLAGS.eval_every:
    raise ToolError(f'--train_steps={FLAGS.train_steps} must be a multiple '
                    f'of --eval_every={FLAGS.eval_every}')
  if not 0 < FLAGS.token_keep_k <= FLAGS.seq_length:
    raise ToolError(f'--token_keep_k={FLAGS.token_keep_k} must be in '
                    f'[1, --seq_length={FLAGS.seq_length}]')
  if (FLAGS.token_loss_beta is not None
      and not 0.0 <= FLAGS.token_loss_beta < 1.0):
    raise ToolError(f'--token_loss_beta={FLAGS.token_loss_beta} must be in '
                    '[0, 1)')
  if not 0 < FLAGS.full_length_layers < FLAGS.num_layers:
    raise ToolError(f'--full_length_layers={FLAGS.full_length_layers} must '
                    f'be in [1, --num_layers={FLAGS.num_layers})')
  hidden = FLAGS.hidden_size
  return Sizes(
      layers=FLAGS.num_layers, hidden=hidden,
      heads=FLAGS.num_attention_heads,
      inner=FLAGS.intermediate_size or 4 * hidden, seq=FLAGS.seq_length,
      preds=FLAGS.max_predictions_per_seq, batch=FLAGS.batch_size,
      vocab=vocab_size(FLAGS.vocab_file), keep=FLAGS.token_keep_k,
      full_length_layers=FLAGS.full_length_layers,
      bort_layers=FLAGS.bort_num_layers,
      bort_inner=FLAGS.bort_intermediate_size or hidden * 3 // 4)


def _glob(pattern: str) -> List[str]:
  return [p for part in pattern.split(',') for p in glob.glob(part)]


def forward_flops(method: str, s: Sizes) -> int:
  """Forward matmul FLOPs per training sequence (encoder + MLM head)."""
  head = flops.mlm_head_flops(s.preds, s.hidden, s.vocab)
  if method == 'token_drop':
    start, end = token_drop_bert.default_drop_layers(s.layers)
    return flops.token_drop_encoder_flops(s.layers, s.seq, s.keep, s.hidden,
                                          s.inner, start, end) + head
  if method == 'narrow_bert':
    return flops.narrow_encoder_flops(s.layers, s.full_length_layers, s.seq,
                                      s.preds, s.hidden, s.inner) + head
  if method == 'bort':
    return flops.encoder_flops(s.bort_layers, s.seq, s.hidden,
                               s.bort_inner) + head
  return flops.encoder_flops(s.layers, s.seq, s.hidden, s.inner) + head


def step_flops(method: str, s: Sizes) -> int:
  """Training FLOPs of one step: forward and backward (3 x forward).

  Bort also runs its teacher (the baseline) forward on every batch.
  """
  total = 3 * forward_flops(method, s)
  if method == 'bort':
    total += forward_flops(BASELINE, s)
  return total * s.batch


def _data(path: str, is_training: bool, s: Sizes, seed: int) -> dict:
  return {
      'input_format': 'text', 'input_path': path,
      'vocab_file': FLAGS.vocab_file, 'do_lower_case': FLAGS.do_lower_case,
      'global_batch_size': s.batch, 'seq_length': s.seq,
      'max_predictions_per_seq': s.preds, 'masking_rate': 0.15,
      'use_next_sentence_label': False, 'is_training': is_training,
      'seed': seed}


def bert_fields(s: Sizes, layers: Optional[int] = None,
                inner: Optional[int] = None) -> dict:
  """Encoder fields every method shares."""
  return {'vocab_size': s.vocab, 'hidden_size': s.hidden,
          'num_layers': layers or s.layers, 'num_attention_heads': s.heads,
          'intermediate_size': inner or s.inner,
          'max_position_embeddings': max(512, s.seq)}


def encoder_override(method: str, s: Sizes) -> dict:
  """The method's encoder at the shared sizes (other fields: its defaults)."""
  if method == 'token_drop':
    fields = dict(bert_fields(s), token_keep_k=s.keep)
    if FLAGS.token_loss_beta is not None:
      fields['token_loss_beta'] = FLAGS.token_loss_beta
    return {'type': 'any', 'any': fields}
  if method == 'narrow_bert':
    return {'type': 'any', 'any': dict(
        bert_fields(s), full_length_layers=s.full_length_layers)}
  if method == 'bort':
    return {'type': 'bert', 'bert': bert_fields(s, s.bort_layers,
                                                 s.bort_inner)}
  if method == 'budget_bert':
    # Pre-LN with the final LayerNorm (token_drop.encoders.pre_ln_bert).
    return {'type': 'any', 'any': bert_fields(s)}
  return {'type': 'bert', 'bert': bert_fields(s)}


def pretraining_config(method: str, s: Sizes, run_dirs: Dict[str, str]
                      ) -> dict:
  """The YAML config (stacked on the experiment) of one pretraining run."""
  steps, loop = FLAGS.train_steps, FLAGS.eval_every
  task = {
      'train_data': dict(_data(FLAGS.train_input, True, s, FLAGS.seed),
                         shuffle_buffer_size=1000),
      'validation_data': _data(FLAGS.valid_input, False, s, FLAGS.seed + 1),
      # No next-sentence head: tfm's bert/pretraining has one by default,
      # which would sit untrained beside an MLM-only objective.
      'model': {'encoder': encoder_override(method, s), 'cls_heads': []},
  }
  if method == 'bort':
    task['teacher'] = {'model': {'encoder': encoder_override(BASELINE, s)},
                       'init_checkpoint': run_dirs[BASELINE]}
  trainer = {
      'train_steps': steps, 'steps_per_loop': loop,
      'summary_interval': loop, 'checkpoint_interval': loop,
      'validation_interval': loop, 'validation_steps': FLAGS.eval_steps,
      'max_to_keep': 2,
      'optimizer_config': {
          'optimizer': {'type': 'adamw', 'adamw': {
              'weight_decay_rate': 0.01,
              'exclude_from_weight_decay': ['LayerNorm', 'layer_norm',
                                            'bias']}},
          'learning_rate': {'type': 'polynomial', 'polynomial': {
              'initial_learning_rate': FLAGS.learning_rate,
              'decay_steps': steps, 'end_learning_rate': 0.0, 'power': 1.0}},
          'warmup': {'type': 'polynomial', 'polynomial': {
              'warmup_steps': max(1, int(steps * FLAGS.warmup_proportion)),
              'power': 1.0}}}}
  if method == 'budget_bert':
    # The shared step schedule, so that only pre-LN differs from the baseline.
    trainer['time_budget'] = {'budget_hours': 0.0,
                              'learning_rate_schedule': 'step'}
  return {'runtime': {'distribution_strategy': 'one_device', 'num_gpus': 0,
                      'enable_xla': False},
          'task': task, 'trainer': trainer}


def train(experiment: str, config_files: List[str], model_dir: str,
          log_path: str, override: str = '') -> dict:
  """Runs train.py (train_and_eval) unless model_dir holds a finished run.

  Returns:
    The run's metrics.json.
  """
  try:
    return run_metrics.read_metrics(model_dir)
  except FileNotFoundError:
    pass
  command = [sys.executable, 'train.py', f'--experiment={experiment}',
             '--mode=train_and_eval', f'--model_dir={model_dir}']
  command += [f'--config_file={c}' for c in config_files]
  if override:
    command.append(f'--params_override={override}')
  print(f'[{time.strftime("%H:%M:%S")}] {experiment} -> {model_dir}',
        flush=True)
  os.makedirs(os.path.dirname(log_path), exist_ok=True)
  with open(log_path, 'w', encoding='utf-8') as log:
    result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                            cwd=REPO_ROOT, check=False)
  if result.returncode:
    with open(log_path, encoding='utf-8') as log:
      tail = log.read()[-3000:]
    raise ToolError(f'{experiment} failed (exit {result.returncode}); log '
                    f'{log_path}:\n{tail}')
  return run_metrics.read_metrics(model_dir)


def curve(model_dir: str, step_cost: int) -> List[dict]:
  """Evaluation points: step, FLOPs, training seconds, held-out loss/acc."""
  validation = run_metrics.read_scalars(os.path.join(model_dir, 'validation'))
  train_scalars = run_metrics.read_scalars(os.path.join(model_dir, 'train'))
  hours = dict(train_scalars.get('elapsed_training_hours', []))
  accuracy = dict(validation.get('masked_lm_accuracy', []))
  points = []
  for step, loss in validation.get('lm_example_loss', []):
    points.append({'step': step, 'flops': step * step_cost,
                   'seconds': hours.get(step, math.nan) * 3600.0,
                   'loss': loss, 'accuracy': accuracy.get(step, math.nan)})
  if not points:
    raise ToolError(f'{model_dir}/validation has no lm_example_loss summaries')
  return points


def interpolate(points: List[dict], x: str, y: str, value: float,
                by: str = 'x') -> Optional[float]:
  """Linear interpolation on a curve of dicts.

  Args:
    points: Curve points sorted by `x`.
    x: The key of the abscissa.
    y: The key of the ordinate.
    value: With by='x', the abscissa to read the curve at; with by='y', the
      ordinate level whose first crossing (from above) is wanted.
    by: 'x' or 'y'.

  Returns:
    y at x=value (by='x'; None outside the curve), or the first x where y
    falls to `value` (by='y'; None if it never does).
  """
  previous = None
  for point in points:
    if by == 'x' and point[x] >= value:
      if previous is None:
        return point[y] if point[x] == value else None
      frac = (value - previous[x]) / (point[x] - previous[x])
      return previous[y] + frac * (point[y] - previous[y])
    if by == 'y' and point[y] <= value:
      if previous is None:
        return point[x]
      frac = (previous[y] - value) / (previous[y] - point[y])
      return previous[x] + frac * (point[x] - previous[x])
    previous = point
  return None


def finetuning_encoder(method: str, s: Sizes, pretrain_dir: str) -> dict:
  """The encoder config of the method's fine-tuning runs.

  The pretraining run's own encoder (params.yaml), except token dropping,
  whose checkpoint is a plain BERT one (its fine-tuning never drops).
  """
  if method == 'token_drop':
    return encoder_override(BASELINE, s)
  with open(os.path.join(pretrain_dir, 'params.yaml'), encoding='utf-8') as f:
    return yaml.safe_load(f)['task']['model']['encoder']


def finetune(method: Method, s: Sizes, pretrain_dir: str) -> Dict[str, list]:
  """Fine-tunes the final checkpoint; returns metric -> one value per seed."""
  work = os.path.join(FLAGS.work_dir, 'finetune', method.name)
  os.makedirs(work, exist_ok=True)
  encoder_yaml = os.path.join(work, 'encoder.yaml')
  with open(encoder_yaml, 'w', encoding='utf-8') as f:
    yaml.safe_dump({'task': {'model': {'encoder': finetuning_encoder(
        method.name, s, pretrain_dir)}}}, f)
  scores = {'accuracy': [], 'f1': []}
  tasks = (('sentence', method.sentence_experiment,
            'configs/demo/sentence_prediction_demo.yaml', 'cls_accuracy',
            'accuracy'),
           ('tagging', method.tagging_experiment,
            'configs/demo/tagging_demo.yaml', 'f1', 'f1'))
  for name, experiment, data_yaml, metric, key in tasks:
    for seed in range(1, FLAGS.finetune_seeds + 1):
      override = [f'task.init_checkpoint={pretrain_dir}',
                  f'task.train_data.seed={seed}']
      if FLAGS.finetune_steps:
        steps = FLAGS.finetune_steps
        override += [
            f'trainer.train_steps={steps}',
            f'trainer.checkpoint_interval={steps}',
            f'trainer.validation_interval={steps}',
            f'trainer.optimizer_config.learning_rate.polynomial.'
            f'decay_steps={steps}',
            f'trainer.optimizer_config.warmup.polynomial.warmup_steps='
            f'{max(1, steps // 10)}']
      if FLAGS.finetune_seq_length:
        override += [f'task.{data}.seq_length={FLAGS.finetune_seq_length}'
                     for data in ('train_data', 'validation_data')]
      run_dir = os.path.join(work, f'{name}_seed{seed}')
      metrics = train(experiment, [data_yaml, encoder_yaml], run_dir,
                      os.path.join(FLAGS.work_dir, 'logs',
                                   f'{method.name}_{name}_seed{seed}.log'),
                      ','.join(override))
      scores[key].append(metrics['validation'][metric])
  return scores


def mean_sd(values: List[float]) -> Tuple[float, float]:
  """Mean and sample standard deviation (0 for one value, NaN for none)."""
  if not values:
    return math.nan, math.nan
  sd = statistics.stdev(values) if len(values) > 1 else 0.0
  return statistics.fmean(values), sd


def _pm(values: List[float]) -> str:
  mean, sd = mean_sd(values)
  return '—' if math.isnan(mean) else f'{mean:.3f} ± {sd:.3f}'


def summarize(results: Dict[str, dict]) -> Dict[str, dict]:
  """Adds the compute and loss comparisons with the baseline, per method.

  Per method: the compute to reach the baseline's final loss and the
  baseline's loss at the method's final FLOPs and seconds.
  """
  base = results[BASELINE]
  base_final = base['curve'][-1]
  for result in results.values():
    points = result['curve']
    final = points[-1]
    reach_flops = interpolate(points, 'flops', 'loss', base_final['loss'],
                              by='y')
    reach_seconds = interpolate(points, 'seconds', 'loss',
                                base_final['loss'], by='y')
    result['reach_flops_ratio'] = (
        None if reach_flops is None else reach_flops / base_final['flops'])
    result['reach_seconds_ratio'] = (
        None if reach_seconds is None
        else reach_seconds / base_final['seconds'])
    result['baseline_loss_at_flops'] = interpolate(
        base['curve'], 'flops', 'loss', final['flops'])
    result['baseline_loss_at_seconds'] = interpolate(
        base['curve'], 'seconds', 'loss', final['seconds'])
  return results


def _ratio(value: Optional[float]) -> str:
  return 'not reached' if value is None else f'{value:.2f}'


def _loss(value: Optional[float]) -> str:
  return '—' if value is None else f'{value:.3f}'


def table(results: Dict[str, dict]) -> str:
  """The Markdown table of the comparison."""
  lines = [
      '| method | steps | train FLOPs | train s | held-out MLM loss | '
      'MLM acc | reviews acc | NER F1 | FLOPs to baseline loss | '
      'time to baseline loss | baseline loss at same FLOPs | '
      'baseline loss at same time |',
      '| --- |' + ' ---: |' * 11]
  for name, r in results.items():
    final = r['curve'][-1]
    lines.append(
        f"| {METHODS[name].label} | {final['step']} | "
        f"{final['flops']:.3g} | {final['seconds']:.0f} | "
        f"{final['loss']:.3f} | {final['accuracy']:.3f} | "
        f"{_pm(r['finetune']['accuracy'])} | {_pm(r['finetune']['f1'])} | "
        f"{_ratio(r['reach_flops_ratio'])} | "
        f"{_ratio(r['reach_seconds_ratio'])} | "
        f"{_loss(r['baseline_loss_at_flops'])} | "
        f"{_loss(r['baseline_loss_at_seconds'])} |")
  return '\n'.join(lines) + '\n'


# Scores of trivial predictors on the bundled test splits: the majority
# class of the reviews (label 1), and no entity at all for NER.
TRIVIAL = {'accuracy': 0.658, 'f1': 0.0}


def uninformative(scores: List[float], key: str) -> bool:
  """Whether fine-tuning scores fail to beat the trivial predictor."""
  mean, sd = mean_sd(scores)
  return mean <= TRIVIAL[key] + max(sd, 0.005)


def verdicts(results: Dict[str, dict]) -> List[str]:
  """The issue's targets, checked against the results."""
  lines = []
  base = results[BASELINE]
  if 'token_drop' in results:
    r = results['token_drop']
    ratio = r['reach_flops_ratio']
    met = ratio is not None and ratio <= 0.8
    reached = ('not reached within the run' if ratio is None
               else f'reached at {ratio:.2f} of the FLOPs')
    lines.append(
        'Token dropping reaches the baseline\'s final held-out MLM loss with '
        'at most 80% of its training FLOPs: '
        + ('met' if met else 'MISSED') + f' ({reached}).')
    for key, label in (('accuracy', 'reviews accuracy'), ('f1', 'NER F1')):
      mean, _ = mean_sd(r['finetune'][key])
      base_mean, base_sd = mean_sd(base['finetune'][key])
      if math.isnan(mean):
        continue
      if uninformative(base['finetune'][key], key):
        lines.append(
            f'Token dropping {label} within one sd of the baseline\'s: '
            f'UNINFORMATIVE (the baseline\'s {base_mean:.3f} ± '
            f'{base_sd:.3f} does not beat the trivial predictor '
            f'{TRIVIAL[key]:.3f}; pretrain longer).')
        continue
      ok = abs(mean - base_mean) <= base_sd
      lines.append(
          f'Token dropping {label} within one sd of the baseline\'s: '
          + ('met' if ok else 'MISSED')
          + f' ({mean:.3f} vs {base_mean:.3f} ± {base_sd:.3f}).')
  if 'narrow_bert' in results:
    r = results['narrow_bert']
    final = r['curve'][-1]
    mean, sd = mean_sd(r['finetune']['accuracy'])
    base_mean, base_sd = mean_sd(base['finetune']['accuracy'])
    lines.append(
        f"NarrowBERT after {final['seconds']:.0f} s of training: held-out "
        f"MLM loss {final['loss']:.3f}; the baseline at the same training "
        f"time: {_loss(r['baseline_loss_at_seconds'])} (final "
        f"{base['curve'][-1]['loss']:.3f} after "
        f"{base['curve'][-1]['seconds']:.0f} s). Reviews accuracy "
        f'{mean:.3f} ± {sd:.3f} vs the baseline\'s {base_mean:.3f} ± '
        f'{base_sd:.3f} (both after the same number of pretraining steps'
        + ('; UNINFORMATIVE: the baseline does not beat the majority class'
           if uninformative(base['finetune']['accuracy'], 'accuracy')
           else '') + ').')
  return lines


def plot(results: Dict[str, dict], out_dir: str) -> List[str]:
  """Held-out MLM loss against FLOPs and against seconds, one PNG each."""
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot  # pylint: disable=g-import-not-at-top
  paths = []
  for x, label, scale in (('flops', 'training FLOPs (x 1e12)', 1e12),
                          ('seconds', 'training seconds (2 CPU cores)', 1.0)):
    figure, axes = pyplot.subplots(figsize=(6, 4), dpi=100)
    for name, r in results.items():
      axes.plot([p[x] / scale for p in r['curve']],
                [p['loss'] for p in r['curve']], marker='o', markersize=3,
                label=METHODS[name].label)
    axes.set_xlabel(label)
    axes.set_ylabel('held-out masked-LM loss')
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path = os.path.join(out_dir, f'pretraining_quality_loss_vs_{x}.png')
    figure.savefig(path)
    pyplot.close(figure)
    paths.append(path)
  return paths


def command_line() -> str:
  """The tool's command with the flags that differ from their defaults."""
  shown = []
  for name in ('methods', 'train_input', 'valid_input', 'vocab_file',
               'num_layers', 'hidden_size', 'num_attention_heads',
               'intermediate_size', 'seq_length', 'max_predictions_per_seq',
               'token_keep_k', 'token_loss_beta', 'full_length_layers',
               'bort_num_layers',
               'bort_intermediate_size', 'train_steps', 'batch_size',
               'learning_rate', 'warmup_proportion', 'eval_every',
               'eval_steps', 'seed', 'finetune_seeds', 'finetune_steps',
               'finetune_seq_length'):
    flag = FLAGS[name]
    if flag.value != flag.default:
      value = (','.join(flag.value) if isinstance(flag.value, list)
               else flag.value)
      shown.append(f'--{name}={value}')
  return ' '.join(['python -m token_drop.benchmarks.pretraining_quality']
                  + shown)


def docs_section(results: Dict[str, dict], s: Sizes, load: Tuple[float, float],
                 wall: float) -> str:
  """The Markdown section of docs/benchmarks.md for `results`."""
  notes = '\n'.join(f'- {line}' for line in verdicts(results))
  return f"""{SECTION}

Written by the command below (2 CPU cores; 1-minute load average
{load[0]:.1f} at the start and {load[1]:.1f} at the end; {wall / 60:.0f}
minutes in all). Every method pretrains the same {s.layers} x {s.hidden}
encoder (intermediate {s.inner}, {s.heads} heads; Bort: {s.bort_layers}
layers, intermediate {s.bort_inner}) for the same steps on
`{FLAGS.train_input}` (sequence {s.seq}, {s.preds} predictions, batch
{s.batch}, AdamW peak {FLAGS.learning_rate:g} with {FLAGS.warmup_proportion:g}
warmup and linear decay, data seed {FLAGS.seed}; one pretraining run per
method); token dropping keeps {s.keep} tokens, NarrowBERT has
{s.full_length_layers} full-length layers. Held-out masked-LM loss and
accuracy on `{FLAGS.valid_input}` ({FLAGS.eval_steps} batches) every
{FLAGS.eval_every} steps. Training FLOPs: matmul FLOPs from the shapes,
3 x forward. Training seconds: the training clock (time inside training
loops; no evaluation or checkpointing). Fine-tuning: each final checkpoint,
{FLAGS.finetune_seeds} seeds per task (the seed sets the data order), on the
bundled reviews (test accuracy) and NER tweets (test seqeval F1), mean ± sd.
"FLOPs/time to baseline loss": the share of the baseline's final FLOPs or
time at which the method's held-out loss first reached the baseline's final
loss (interpolated); "baseline loss at same FLOPs/time": the baseline's
held-out loss at the method's final FLOPs or time (interpolated).

```
{command_line()}
```

{table(results)}
![held-out MLM loss vs FLOPs](images/pretraining_quality_loss_vs_flops.png)
![held-out MLM loss vs seconds](images/pretraining_quality_loss_vs_seconds.png)

Targets:
{notes}
"""


def run() -> Dict[str, dict]:
  """Runs the comparison; returns the results by method."""
  s = sizes_from_flags()
  os.makedirs(FLAGS.work_dir, exist_ok=True)
  order = [BASELINE] + [m for m in FLAGS.methods if m != BASELINE]
  run_dirs = {m: os.path.join(FLAGS.work_dir, 'pretrain', m) for m in order}
  results = {}
  for name in order:
    method = METHODS[name]
    config_path = os.path.join(FLAGS.work_dir, 'configs', f'{name}.yaml')
    os.makedirs(os.path.dirname(config_path), exist_ok=True)
    with open(config_path, 'w', encoding='utf-8') as f:
      yaml.safe_dump(pretraining_config(name, s, run_dirs), f)
    train(method.experiment, [config_path], run_dirs[name],
          os.path.join(FLAGS.work_dir, 'logs', f'{name}_pretrain.log'))
    results[name] = {'experiment': method.experiment,
                     'step_flops': step_flops(name, s),
                     'curve': curve(run_dirs[name], step_flops(name, s))}
  for name in order:
    results[name]['finetune'] = (
        finetune(METHODS[name], s, run_dirs[name]) if FLAGS.finetune_seeds
        else {'accuracy': [], 'f1': []})
  return summarize(results)


def main(_):
  """Runs the comparison, writes its table and plots, prints a summary."""
  os.chdir(REPO_ROOT)
  start = time.monotonic()
  load_start = os.getloadavg()[0]
  results = run()
  load = (load_start, os.getloadavg()[0])
  wall = time.monotonic() - start
  s = sizes_from_flags()
  with open(os.path.join(FLAGS.work_dir, 'results.json'), 'w',
            encoding='utf-8') as f:
    json.dump(results, f, indent=2)
  text = table(results)
  with open(os.path.join(FLAGS.work_dir, 'table.md'), 'w',
            encoding='utf-8') as f:
    f.write(text)
  plots = plot(results, FLAGS.work_dir)
  print(text)
  print('\n'.join(verdicts(results)))
  print(f'plots: {", ".join(plots)}')
  if FLAGS.update_docs:
    images = os.path.join(REPO_ROOT, 'docs', 'images')
    os.makedirs(images, exist_ok=True)
    for path in plots:
      shutil.copy(path, images)
    common.write_section(SECTION, docs_section(results, s, load, wall))


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
