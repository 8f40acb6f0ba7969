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

"""Training-step time of every method in float32, bfloat16 and bfloat16+XLA.

One training step = forward, backward and AdamW update through the real
tasks' `train_step` (`token_drop.benchmarks.common.train_step_fn`): the BERT
baseline (`MaskedLMTask` with a `BertEncoderV2`), token dropping
(`TokenDropMaskedLMTask`, keep half the sequence in the paper's middle
layers), NarrowBERT (`NarrowMaskedLMTask`, 2 full-length layers, narrow at
the masked positions) at BERT-base shapes, and Bort's student (4 x 1024,
intermediate 768) trained with masked LM alone (the teacher's forward pass
is the teacher's cost, not Bort's).

Three precisions: `float32`, `mixed_bfloat16` (tf_keras policy: bfloat16
compute, float32 variables) and `mixed_bfloat16` compiled with XLA
(`jit_compile=True`). Models hold about 1.8 GB each at BERT-base (weights,
AdamW moments, gradients), so precisions are timed in phases: the float32
phase times the four float32 models alternately; the bfloat16 phase times
the four bfloat16 models (each with and without XLA) alternately with the
float32 BERT model, so that every ratio to float32 BERT is between steps
taken under the same machine load. The table reports the fastest step of
each (the least disturbed by other processes), its ratio to float32 BERT's
fastest step in the same phase, the method's ratio to BERT in the same
precision, the speed-up of the precision over the method's float32 step, and
the FLOP ratio to BERT from the shapes (`token_drop.benchmarks.flops`:
matmul FLOPs of the encoder layers and the MLM head).

Usage (from the repository root; the issue's size is seq 512, batch 4):

  python -m token_drop.benchmarks.precision_benchmark \
      --seq_length=128 --batch_size=8 --rounds=3 [--update_docs]
"""

import functools
import gc
import os
import statistics
import time
from typing import Callable, Dict, List, Optional, Sequence

from absl import flags
import tensorflow as tf
import tf_keras

from official.core import exp_factory
from official.core import task_factory
from official.modeling import optimization
from official.modeling import performance
from official.nlp.configs import bert
from official.nlp.configs import encoders
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from experiments import common as experiments_common
from token_drop.benchmarks import common
from token_drop.benchmarks import flops
from token_drop.core import errors
from token_drop.encoders import token_drop_bert
from token_drop.tasks import masked_lm

VOCAB = experiments_common.VOCAB_SIZE
METHODS = ('bert', 'token_drop', 'narrow_bert', 'bort')
PRECISIONS = ('float32', 'bfloat16', 'bfloat16_xla')
# Encoder shapes; `full` is NarrowBERT's full-length layers.
BERT_BASE = dict(layers=12, hidden=768, heads=12, inner=3072, full=2)
BORT = dict(layers=4, hidden=1024, heads=8, inner=768, full=0)

DOCS = common.DOCS
SECTION = '## Precision'


def predictions(seq_length: int) -> int:
  """Masked positions per sequence: BERT's 15% (76 at 512)."""
  return max(1, int(0.15 * seq_length))


def model_flops(method: str, seq: int, preds: int,
                shapes: Optional[Dict[str, Dict[str, int]]] = None) -> int:
  """Forward matmul FLOPs per sequence: encoder layers plus MLM head."""
  shapes = shapes or dict(bert=BERT_BASE, bort=BORT)
  s = shapes['bort' if method == 'bort' else 'bert']
  h, inner, layers = s['hidden'], s['inner'], s['layers']
  if method == 'token_drop':
    start, end = token_drop_bert.default_drop_layers(layers)
    encoder = flops.token_drop_encoder_flops(layers, seq, seq // 2, h, inner,
                                             start, end)
  elif method == 'narrow_bert':
    encoder = flops.narrow_encoder_flops(layers, s['full'], seq, preds, h,
                                         inner)
  else:
    encoder = flops.encoder_flops(layers, seq, h, inner)
  return encoder + flops.mlm_head_flops(preds, h, VOCAB)


def _encoder_kwargs(s: Dict[str, int], seq: int) -> Dict[str, int]:
  return dict(vocab_size=VOCAB, num_layers=s['layers'], hidden_size=s['hidden'],
              num_attention_heads=s['heads'], intermediate_size=s['inner'],
              max_position_embeddings=max(512, seq))


def build_task(method: str, seq: int, preds: int,
               shapes: Optional[Dict[str, Dict[str, int]]] = None):
  """The method's task (built under the current policy) and its config."""
  shapes = shapes or dict(bert=BERT_BASE, bort=BORT)
  s = shapes['bort' if method == 'bort' else 'bert']
  kwargs = _encoder_kwargs(s, seq)
  experiment = {'token_drop': 'token_drop_bert/pretraining',
                'narrow_bert': 'narrow_bert/pretraining'}.get(
                    method, 'token_drop_bert/pretraining')
  config = exp_factory.get_exp_config(experiment)
  config.task.train_data.override({'seq_length': seq,
                                   'max_predictions_per_seq': preds})
  if method == 'token_drop':
    kwargs['token_keep_k'] = seq // 2
  if method == 'narrow_bert':
    kwargs['full_length_layers'] = s['full']
  if method in ('token_drop', 'narrow_bert'):
    config.task.model.encoder.any.override(kwargs)
    return task_factory.get_task(config.task), config
  encoder = encoders.EncoderConfig(type='bert_v2')
  encoder.bert_v2.override(kwargs)
  task = masked_lm.MaskedLMTask(masked_lm.MaskedLMConfig(
      model=bert.PretrainerConfig(encoder=encoder, cls_heads=[]),
      train_data=config.task.train_data))
  return task, config


def _step(method: str, seq: int, preds: int, shapes, inputs):
  """A float32 step, traced once (its layers build at the first call)."""
  performance.set_mixed_precision_policy('float32')
  try:
    task, config = build_task(method, seq, preds, shapes)
    fn = common.train_step_fn(task, config.trainer.optimizer_config)
    float(fn(inputs))
    return fn
  finally:
    tf_keras.mixed_precision.set_global_policy('float32')


def measure(seq: int, batch: int, rounds: int,
            methods: Sequence[str] = METHODS,
            precisions: Sequence[str] = PRECISIONS,
            shapes: Optional[Dict[str, Dict[str, int]]] = None,
            log: Callable[[str], None] = functools.partial(print, flush=True)
           ) -> List[Dict]:
  """Times every method and precision; returns one row per pair.

  Args:
    seq: Sequence length.
    batch: Batch size.
    rounds: Timed steps per function (alternating).
    methods: Subset of METHODS ('bert' is always timed: it is the reference).
    precisions: Subset of PRECISIONS ('float32' is always timed).
    shapes: {'bert': ..., 'bort': ...} encoder shapes (tests use tiny ones).
    log: Progress output.

  Returns:
    Rows with method, precision, step_s (fastest), median_s, to_bert_fp32,
    method_ratio (to BERT in the same precision), speedup (over the method's
    float32 step) and flop_ratio.
  """
  methods = ['bert'] + [m for m in methods if m != 'bert']
  preds = predictions(seq)
  inputs = [common.masked_lm_inputs(batch, seq, preds, seed, VOCAB)
            for seed in range(2)]
  fp32 = {m: _step(m, seq, preds, shapes, inputs[0]) for m in methods}
  log(f'timing float32 ({len(methods)} models, {rounds} rounds)')
  # Every step was traced and run once when built.
  times = {('float32', m): t['wall'] for m, t in common.alternate_time(
      fp32, rounds, inputs, warm_up=False).items()}
  anchor = {'float32': min(times[('float32', 'bert')])}
  reference = fp32['bert']
  del fp32
  gc.collect()
  mixed = [p for p in precisions if p != 'float32']
  if mixed:
    fns = {('reference',): reference}
    for m in methods:
      # One model per method serves both bfloat16 steps (with and without
      # XLA): the same weights, half the memory.
      task_fns = _shared_steps(m, seq, preds, shapes, inputs[0],
                               jits=[p == 'bfloat16_xla' for p in mixed])
      for p, fn in zip(mixed, task_fns):
        fns[(p, m)] = fn
    log(f'timing float32 BERT and {", ".join(mixed)} ({len(fns)} '
        f'functions, {rounds} rounds)')
    wall = {k: t['wall'] for k, t in common.alternate_time(
        fns, rounds, inputs, warm_up=False).items()}
    ref = min(wall.pop(('reference',)))
    for (p, m), t in wall.items():
      times[(p, m)] = t
      anchor[p] = ref
  rows = []
  for p in ['float32'] + mixed:
    for m in methods:
      t = min(times[(p, m)])
      rows.append(dict(
          method=m, precision=p, step_s=t,
          median_s=statistics.median(times[(p, m)]),
          to_bert_fp32=t / anchor[p],
          method_ratio=t / min(times[(p, 'bert')]),
          # Both relative to float32 BERT of their own phase.
          speedup=(min(times[('float32', m)]) / anchor['float32']) / (
              t / anchor[p]),
          flop_ratio=model_flops(m, seq, preds, shapes) /
          model_flops('bert', seq, preds, shapes)))
  return rows


def _shared_steps(method: str, seq: int, preds: int, shapes, inputs,
                  jits: Sequence[bool]) -> List[Callable]:
  """Steps of one bfloat16 model, each compiled with or without XLA.

  Each is traced once under the bfloat16 policy: layers that build at the
  first call take the global policy of that moment.
  """
  performance.set_mixed_precision_policy('bfloat16')
  try:
    task, config = build_task(method, seq, preds, shapes)
    model = task.build_model()
    factory = optimization.OptimizerFactory(
        config.trainer.optimizer_config)
    optimizer = factory.build_optimizer(factory.build_learning_rate())
    metrics = task.build_metrics(training=True)

    def step(x):
      return task.train_step(x, model, optimizer, metrics)[task.loss]

    fns = [tf.function(step, jit_compile=jit) for jit in jits]
    for fn in fns:
      float(fn(inputs))
    return fns
  finally:
    tf_keras.mixed_precision.set_global_policy('float32')


def _part_fns(batch: int, seq: int, preds: int) -> Dict[str, Callable]:
  """Forward + backward of pieces of a BERT-base step.

  Built here, under the current policy, so their layers take it.
  """
  h, inner, heads = BERT_BASE['hidden'], BERT_BASE['inner'], BERT_BASE['heads']
  tokens = batch * seq
  dtype = tf_keras.mixed_precision.global_policy().compute_dtype
  ffn_in = tf_keras.layers.Dense(inner)
  ffn_out = tf_keras.layers.Dense(h)
  norm = tf_keras.layers.LayerNormalization(epsilon=1e-12)
  softmax = tf_keras.layers.Softmax(axis=-1)
  transform = tf_keras.layers.Dense(h, activation='gelu')
  table = tf.Variable(tf.random.normal([VOCAB, h], stddev=0.02))
  x = tf.random.normal([tokens, h])
  scores = tf.random.normal([batch, heads, seq, seq])
  mask = tf.ones([batch, 1, seq, seq], tf.bool)
  hidden_inner = tf.random.normal([tokens, inner])
  labels = tf.random.uniform([batch * preds], 0, VOCAB, tf.int32)
  for layer in (ffn_in, ffn_out, norm, transform):  # Creates the kernels.
    layer(tf.zeros([1, inner if layer is ffn_out else h]))

  def grad_of(forward, inputs, variables):
    @tf.function
    def fn():
      with tf.GradientTape() as tape:
        tape.watch(inputs)
        out = tf.cast(forward(inputs), tf.float32)
        loss = tf.reduce_sum(out * out) if out.shape.rank else out
      grads = tape.gradient(loss, [inputs] + variables)
      return tf.add_n([tf.reduce_sum(tf.cast(g, tf.float32)) for g in grads])
    return fn

  def mlm_head(v):
    logits = tf.matmul(transform(tf.cast(v, dtype)), tf.cast(table, dtype),
                       transpose_b=True)
    return tf.reduce_mean(
        tf_keras.losses.sparse_categorical_crossentropy(
            labels, tf.cast(logits, tf.float32), from_logits=True))

  pred_rows = x[:batch * preds]
  return {
      f'FFN matmuls ({tokens} x {h} x {inner}, both)': grad_of(
          lambda v: ffn_out(ffn_in(v)), x,
          ffn_in.trainable_variables + ffn_out.trainable_variables),
      f'GELU ({tokens} x {inner})': grad_of(
          lambda v: tf_keras.activations.gelu(tf.cast(v, dtype)),
          hidden_inner, []),
      f'LayerNorm ({tokens} x {h})': grad_of(norm, x,
                                             norm.trainable_variables),
      f'attention softmax ({batch} x {heads} x {seq} x {seq})': grad_of(
          lambda v: softmax(tf.cast(v, dtype), mask), scores, []),
      f'MLM head + loss ({batch * preds} x {h} x {VOCAB})': grad_of(
          mlm_head, pred_rows, transform.trainable_variables + [table]),
  }


def profile_parts(batch: int, seq: int, repeats: int = 5) -> List[Dict]:
  """Median forward+backward ms of step pieces in float32 and bfloat16.

  Returns:
    Rows with part, float32_ms, bfloat16_ms and speedup.
  """
  preds = predictions(seq)
  fns = {}
  for dtype in ('float32', 'bfloat16'):
    performance.set_mixed_precision_policy(dtype)
    try:
      for name, fn in _part_fns(batch, seq, preds).items():
        float(fn())  # Trace under the policy.
        fns[(name, dtype)] = fn
    finally:
      tf_keras.mixed_precision.set_global_policy('float32')
  wall = {k: t['wall'] for k, t in common.alternate_time(
      fns, repeats, warm_up=False).items()}
  rows = []
  for name in dict.fromkeys(name for name, _ in fns):
    f32 = statistics.median(wall[(name, 'float32')]) * 1000
    b16 = statistics.median(wall[(name, 'bfloat16')]) * 1000
    rows.append(dict(part=name, float32_ms=f32, bfloat16_ms=b16,
                     speedup=f32 / b16))
  return rows


def format_profile(rows: List[Dict]) -> str:
  """Formats the per-piece timings as a Markdown table."""
  lines = ['| piece (forward + backward) | float32 (ms, median) | '
           'bfloat16 (ms, median) | bfloat16 speed-up |', '|---|---|---|---|']
  for r in rows:
    lines.append(f"| {r['part']} | {r['float32_ms']:.1f} | "
                 f"{r['bfloat16_ms']:.1f} | {r['speedup']:.2f}x |")
  return '\n'.join(lines)


NAMES = {'bert': 'BERT', 'token_drop': 'token dropping',
         'narrow_bert': 'NarrowBERT', 'bort': 'Bort (4 x 1024)'}
PRECISION_NAMES = {'float32': 'float32', 'bfloat16': 'mixed_bfloat16',
                   'bfloat16_xla': 'mixed_bfloat16 + XLA'}


def format_table(rows: List[Dict]) -> str:
  """Formats the per-method step times as a Markdown table."""
  lines = ['| method | precision | step (s, min) | to float32 BERT | '
           'method / BERT (same precision) | speed-up over float32 | '
           'FLOP ratio to BERT |',
           '|---|---|---|---|---|---|---|']
  for r in rows:
    lines.append(
        f"| {NAMES[r['method']]} | {PRECISION_NAMES[r['precision']]} | "
        f"{r['step_s']:.3f} | {r['to_bert_fp32']:.3f} | "
        f"{r['method_ratio']:.3f} | {r['speedup']:.2f}x | "
        f"{r['flop_ratio']:.3f} |")
  return '\n'.join(lines)


FLAGS = flags.FLAGS


def define_flags():
  """Defines the benchmark's flags."""
  flags.DEFINE_integer('seq_length', 512, 'Sequence length.')
  flags.DEFINE_integer('batch_size', 4, 'Batch size.')
  flags.DEFINE_integer('rounds', 5, 'Timed steps per function (alternating).')
  flags.DEFINE_list('methods', list(METHODS), 'Subset of: ' +
                    ', '.join(METHODS))
  flags.DEFINE_list('precisions', list(PRECISIONS), 'Subset of: ' +
                    ', '.join(PRECISIONS))
  flags.DEFINE_bool('update_docs', False,
                    f'Write the table to the "{SECTION}" section of {DOCS}.')
  flags.DEFINE_bool('profile', False,
                    'Also time pieces of the step (FFN matmuls, GELU, layer '
                    'norm, softmax, MLM head) in float32 and bfloat16.')
  flags.DEFINE_bool('skip_steps', False,
                    'Only the --profile table, not the training steps.')
  flags.DEFINE_string('notes', '', 'Text appended under the table in docs.')


def main(argv):
  """Checks the flags, runs the benchmark and prints its tables."""
  del argv
  for name, value in (('seq_length', FLAGS.seq_length),
                      ('batch_size', FLAGS.batch_size),
                      ('rounds', FLAGS.rounds)):
    if value < 1:
      raise errors.UserError(f'--{name}={value}: expected a positive integer')
  for name, values, allowed in (('methods', FLAGS.methods, METHODS),
                                ('precisions', FLAGS.precisions, PRECISIONS)):
    bad = sorted(set(values) - set(allowed))
    if bad:
      raise errors.UserError(f'--{name}: unknown {bad}; expected a subset of '
                           f'{", ".join(allowed)}')
  start = time.time()
  table = ''
  if not FLAGS.skip_steps:
    rows = measure(FLAGS.seq_length, FLAGS.batch_size, FLAGS.rounds,
                   FLAGS.methods, FLAGS.precisions)
    table = format_table(rows)
  if FLAGS.profile:
    table += '\n\n' + format_profile(profile_parts(
        FLAGS.batch_size, FLAGS.seq_length, FLAGS.rounds))
  table = table.strip()
  load = os.getloadavg()
  print(table)
  print(f'{time.time() - start:.0f} s; load average {load[0]:.2f} '
        f'{load[1]:.2f} {load[2]:.2f}')
  if FLAGS.update_docs:
    text = (f'{SECTION}\n\n'
            'Training step (forward, backward, AdamW) of each method in '
            'float32, mixed_bfloat16 and mixed_bfloat16 with XLA, timed '
            'alternately in one process. Command:\n\n'
            '```\npython -m token_drop.benchmarks.precision_benchmark '
            f'--seq_length={FLAGS.seq_length} '
            f'--batch_size={FLAGS.batch_size} --rounds={FLAGS.rounds} '
            + ('--profile ' if FLAGS.profile else '')
            + ('--skip_steps ' if FLAGS.skip_steps else '')
            + '--update_docs\n```\n\n'
            f'{table}\n\n'
            f'Load average at the end: {load[0]:.2f} {load[1]:.2f} '
            f'{load[2]:.2f}.\n')
    if FLAGS.notes:
      text += '\n' + FLAGS.notes.strip() + '\n'
    common.write_section(SECTION, text)


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
