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

"""Input pipeline throughput beside what BERT-base in mixed_bfloat16 consumes.

Times the pretraining input pipelines alone (no model), at each sequence
length:

* `tfrecord`: TFRecords written by `create_pretraining_data` (from the
  bundled corpus, packed MLM, before timing), read by tfm's loader;
* `text`: `input_format: text`, tokenized by tensorflow-text, packed and
  masked in the pipeline (dynamic masking).

Each pipeline runs with its tf.data work confined to 1 thread and then to
all cores (`threading.private_threadpool_size`). Throughput is reported as
sequences per wall-clock second and as sequences per CPU-second of the
process (the time the cores spent, robust to a shared machine): a pipeline
that delivers X sequences per CPU-second costs 1/X core-seconds per
sequence.

The model's consumption is BERT-base (12 x 768) trained in `mixed_bfloat16`
through `MaskedLMTask.train_step` (`common.train_step_fn`), timed for a few
steps at the same sequence lengths, as sequences per second and per
CPU-second; or taken from `--model_seconds_per_step` (e.g. the idle-machine
`512:5.16` at batch 4, on 2 cores). The target: every pipeline delivers at
least 3x what the model consumes per core, i.e. pipeline sequences per
CPU-second >= 3 x model sequences per CPU-second; then one core of input
feeds three cores of training.

Usage (from the repository root):

  python -m token_drop.benchmarks.input_pipeline_benchmark [--update_docs]
"""

import os
import tempfile
import time
from typing import Dict, List

from absl import flags
import tensorflow as tf

from official.modeling import performance
from official.nlp.tools import tokenization
from token_drop.benchmarks import common
from token_drop.benchmarks import token_drop_benchmark
from token_drop.core import errors
from token_drop.data import create_pretraining_data as cpd
from token_drop.data import pretrain_dataloader
from token_drop.tasks import masked_lm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TITLE = '## Input pipeline'
# Predictions per sequence as in BERT (15% of the tokens).
PREDICTIONS = {128: 20, 512: 76}

FLAGS = flags.FLAGS


def define_flags():
  """Defines the flags (not at import: other modules define the same names)."""
  flags.DEFINE_list('seq_lengths', ['128', '512'], 'Sequence lengths.')
  flags.DEFINE_integer('batch_size', 32, 'Pipeline batch size.')
  flags.DEFINE_float('seconds', 6.0, 'Timed seconds per pipeline run.')
  flags.DEFINE_list('threads', ['1', '2'],
                    'tf.data private thread pool sizes to time.')
  flags.DEFINE_string(
      'corpus', os.path.join(REPO, 'data', 'corpus', 'demo_train.txt'),
      'Text in the create_pretraining_data format.')
  flags.DEFINE_string(
      'vocab',
      os.path.join(REPO, 'data', 'vocab', 'bert_en_uncased_vocab.txt'),
      'WordPiece vocabulary.')
  flags.DEFINE_integer('model_steps', 2,
                       'Timed BERT-base bf16 steps per sequence length '
                       '(after one compile step); 0: use '
                       '--model_seconds_per_step.')
  flags.DEFINE_integer('model_batch_size', 4, 'Batch size of the model step.')
  flags.DEFINE_list(
      'model_seconds_per_step', [],
      'SEQ:SECONDS pairs for --model_batch_size on all cores (e.g. 512:5.16, '
      'measured on an idle machine), used instead of timing the model.')
  flags.DEFINE_bool('update_docs', False,
                    f'Write the "{TITLE}" section of docs/benchmarks.md.')


def _tfrecords(directory: str, seq: int) -> List[str]:
  """Packed-MLM TFRecords of the corpus at `seq`, written before timing."""
  tokenizer = tokenization.FullTokenizer(FLAGS.vocab, True)
  files = cpd.shard_paths(os.path.join(directory, f'seq{seq}'), 2)
  cpd.create_pretraining_data(
      [FLAGS.corpus], files, tokenizer, cpd.ProcessorText(False, True),
      max_seq_length=seq, max_predictions_per_seq=PREDICTIONS[seq],
      dupe_factor=1, use_next_sentence_label=False,
      use_v2_feature_names=True, resume=False)
  return files


def _config(seq: int, input_format: str, files: List[str]):
  return pretrain_dataloader.PretrainDataConfig(
      input_path=','.join(files), input_format=input_format,
      vocab_file=FLAGS.vocab, seq_length=seq,
      max_predictions_per_seq=PREDICTIONS[seq],
      global_batch_size=FLAGS.batch_size, is_training=True,
      use_next_sentence_label=False, use_v2_feature_names=True, seed=1)


def time_pipeline(config, threads: int) -> Dict[str, float]:
  """Sequences per wall second and per CPU-second of a pipeline alone."""
  dataset = pretrain_dataloader.PretrainDataLoader(config).load()
  options = tf.data.Options()
  options.threading.private_threadpool_size = threads
  options.threading.max_intra_op_parallelism = 1
  iterator = iter(dataset.with_options(options))
  for _ in range(3):  # warm up: fill buffers, trace functions
    next(iterator)
  batches = 0
  start, start_cpu = time.perf_counter(), time.process_time()
  while time.perf_counter() - start < FLAGS.seconds:
    next(iterator)
    batches += 1
  wall = time.perf_counter() - start
  cpu = time.process_time() - start_cpu
  sequences = batches * config.global_batch_size
  return dict(per_s=sequences / wall, per_cpu_s=sequences / cpu,
              cpu_use=cpu / wall)


def time_model(seq: int) -> Dict[str, float]:
  """BERT-base mixed_bfloat16 training step: sequences per s and CPU-s."""
  batch = FLAGS.model_batch_size
  given = dict(item.split(':') for item in FLAGS.model_seconds_per_step)
  if str(seq) in given or FLAGS.model_steps <= 0:
    seconds = float(given[str(seq)])
    cores = os.cpu_count()
    return dict(per_s=batch / seconds, per_cpu_s=batch / (seconds * cores),
                source=f'given: {seconds} s/step on {cores} cores')
  shape = dict(token_drop_benchmark.SIZES['base'], seq=seq,
               preds=PREDICTIONS[seq], batch=batch)
  performance.set_mixed_precision_policy(tf.bfloat16)
  try:
    config = token_drop_benchmark._task_config(shape, token_drop=False)  # pylint: disable=protected-access
    task = masked_lm.MaskedLMTask(config.task)
    step = common.train_step_fn(task, config.trainer.optimizer_config)
    inputs = common.masked_lm_inputs(batch, seq, PREDICTIONS[seq], 0)
    float(step(inputs))  # compile
    walls, cpus = [], []
    for _ in range(FLAGS.model_steps):
      start, start_cpu = time.perf_counter(), time.process_time()
      float(step(inputs))
      walls.append(time.perf_counter() - start)
      cpus.append(time.process_time() - start_cpu)
  finally:
    performance.set_mixed_precision_policy(tf.float32)
  return dict(per_s=batch / min(walls), per_cpu_s=batch / min(cpus),
              source=f'measured: {min(walls):.2f} s/step wall, '
                     f'{min(cpus):.2f} CPU-s/step')


def run() -> str:
  """Times everything; returns the markdown table and notes."""
  rows = []
  with tempfile.TemporaryDirectory() as directory:
    for seq in map(int, FLAGS.seq_lengths):
      model = time_model(seq)
      inputs = {'tfrecord': _tfrecords(directory, seq),
                'text': [FLAGS.corpus]}
      for name, files in inputs.items():
        config = _config(seq, name, files)
        for threads in map(int, FLAGS.threads):
          result = time_pipeline(config, threads)
          rows.append(dict(seq=seq, pipeline=name, threads=threads,
                           model=model, **result))
          print(rows[-1], flush=True)
  lines = [
      '| seq | pipeline | tf.data threads | sequences/s | sequences per '
      'CPU-s | CPU use (cores) | model bf16 sequences/s | model sequences '
      'per CPU-s | pipeline / model per core |',
      '|---|---|---|---|---|---|---|---|---|']
  for r in rows:
    ratio = r['per_cpu_s'] / r['model']['per_cpu_s']
    lines.append(
        f"| {r['seq']} | {r['pipeline']} | {r['threads']} | "
        f"{r['per_s']:.0f} | {r['per_cpu_s']:.0f} | {r['cpu_use']:.2f} | "
        f"{r['model']['per_s']:.3f} | {r['model']['per_cpu_s']:.3f} | "
        f"{ratio:.0f}x |")
  models = sorted({(r['seq'], r['model']['source']) for r in rows})
  lines.append('')
  lines.extend(f'Model at seq {seq}, batch {FLAGS.model_batch_size}: '
               f'{source}.' for seq, source in models)
  return '\n'.join(lines)


def main(argv):
  """Runs the benchmark and prints its table."""
  del argv
  table = run()
  command = ('python -m token_drop.benchmarks.input_pipeline_benchmark '
             f'--seq_lengths={",".join(FLAGS.seq_lengths)} '
             f'--batch_size={FLAGS.batch_size} --seconds={FLAGS.seconds} '
             f'--threads={",".join(FLAGS.threads)} '
             f'--model_steps={FLAGS.model_steps}'
             + (f' --model_seconds_per_step='
                f'{",".join(FLAGS.model_seconds_per_step)}'
                if FLAGS.model_seconds_per_step else '') + ' --update_docs')
  common.report_section(
      TITLE, command, table, FLAGS.update_docs,
      load_note=': wall-clock rates are depressed, per-CPU-second rates '
      'much less so')


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
