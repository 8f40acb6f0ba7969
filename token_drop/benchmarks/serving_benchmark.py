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

r"""Latency of exported SavedModels: BERT vs NarrowBERT vs Bort classifiers.

Each model is a sentence classifier of its experiment (`finetuning/
sentence_prediction` with BERT-base, `narrow_bert/sentence_prediction`:
BERT-base with 2 full-length and 10 narrow layers, `finetuning/
sentence_prediction` with Bort's encoder from configs/bort.yaml), randomly
initialised (latency does not depend on the weights), written as a
checkpoint and exported with `token_drop.tools.export_saved_model` once per
sequence length. One fresh process, which does not import this package nor
tfm, loads every SavedModel and times its `serving_default` (token ids) and
`serve_text` (raw strings, tokenized in the graph) signatures, the models
alternating so that machine load affects them alike; this driver also times
the same Keras models in Python (`tf.function` of the model call) and prints
one table with the speed-ups over BERT of both.

  python -m token_drop.benchmarks.serving_benchmark \
    --seq_lengths=128,512 --batch_sizes=1,32 [--update_docs]

Times are the fastest of `--repeats` calls (the least disturbed by other
jobs on a shared machine).
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Dict, List

from absl import flags
import numpy as np
import tensorflow as tf

from experiments import common as experiments_common
from token_drop.benchmarks import common
from token_drop.core import errors
from token_drop.tools import export_saved_model

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VOCAB = os.path.join(REPO_ROOT, 'data', 'vocab', 'bert_en_uncased_vocab.txt')
SP_DEMO = os.path.join(REPO_ROOT, 'configs', 'demo',
                       'sentence_prediction_demo.yaml')
# name: (experiment, config files).
MODELS = {
    'bert': ('finetuning/sentence_prediction', [SP_DEMO]),
    'narrow_bert': ('narrow_bert/sentence_prediction', [SP_DEMO]),
    'bort': ('finetuning/sentence_prediction',
             [SP_DEMO, os.path.join(REPO_ROOT, 'configs', 'bort.yaml')]),
}
_WORDS = ('the coffee arrived quickly and tastes great but the box was '
          'damaged so i would not order again from this seller').split()

# Runs with `python -I` outside the repository: no token_drop, no tfm.
TIMER = textwrap.dedent('''
    import json, sys, time
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # The tokenizer ops.
    job = json.load(open(sys.argv[1]))
    fns, inputs = {}, {}
    for key, spec in job['runs'].items():
      model = tf.saved_model.load(spec['path'])
      sig = model.signatures[spec['signature']]
      fns[key] = (model, sig)
      if spec['signature'] == 'serve_text':
        inputs[key] = dict(text=tf.constant(spec['texts']))
      else:
        shape = (spec['batch'], spec['seq'])
        rng = np.random.default_rng(0)
        ids = rng.integers(999, job['vocab_size'], shape).astype(np.int32)
        inputs[key] = dict(input_word_ids=tf.constant(ids),
                           input_mask=tf.ones(shape, tf.int32),
                           input_type_ids=tf.zeros(shape, tf.int32))
    times = {key: [] for key in fns}
    for key in fns:  # Warm up.
      for _ in range(job['warmup']):
        [v.numpy() for v in fns[key][1](**inputs[key]).values()]
    keys = list(fns)
    for r in range(job['repeats']):
      for key in (keys if r % 2 == 0 else keys[::-1]):
        start = time.perf_counter()
        [v.numpy() for v in fns[key][1](**inputs[key]).values()]
        times[key].append(time.perf_counter() - start)
    assert not any(m.split('.')[0] in ('token_drop', 'official')
                   for m in sys.modules)
    print('TIMES ' + json.dumps(times))
''')


def _texts(batch: int, seq: int) -> List[str]:
  """Texts of about `seq` word pieces (all packed to seq anyway)."""
  words = (_WORDS * (seq // len(_WORDS) + 1))[:seq]
  return [' '.join(words[i % 7:] + words[:i % 7]) for i in range(batch)]


def export_models(names, seq_lengths, work_dir: str):
  """Exports each model once per sequence length; returns paths and models.

  Returns:
    ({(name, seq): SavedModel path}, {name: Keras model}).
  """
  paths, models = {}, {}
  for name in names:
    experiment, files = MODELS[name]
    params = export_saved_model.parse_config(experiment, files)
    _, model = export_saved_model.build_task_model(params)
    model(export_saved_model._dummy_inputs('sentence_prediction'))  # pylint: disable=protected-access
    ckpt = os.path.join(work_dir, name, 'ckpt')
    tf.train.Checkpoint(model=model).save(os.path.join(ckpt, 'ckpt'))
    models[name] = model
    for seq in seq_lengths:
      start = time.time()
      paths[(name, seq)] = export_saved_model.export(
          experiment, ckpt, os.path.join(work_dir, name, f'saved_{seq}'),
          config_files=files, seq_length=seq, vocab_file=VOCAB).output_dir
      print(f'exported {name} at seq {seq} in {time.time() - start:.0f} s',
            flush=True)
  return paths, models


def time_saved_models(paths, seq_lengths, batch_sizes, repeats: int,
                      warmup: int, work_dir: str) -> Dict[str, float]:
  """Fastest call of every signature run, timed in one fresh process."""
  runs = {}
  for (name, seq), path in paths.items():
    for batch in batch_sizes:
      for signature in ('serving_default', 'serve_text'):
        runs[f'{name}|{seq}|{batch}|{signature}'] = dict(
            path=path, signature=signature, seq=seq, batch=batch,
            texts=_texts(batch, seq))
  job = os.path.join(work_dir, 'timer_job.json')
  with open(job, 'w') as f:
    json.dump(dict(runs=runs, repeats=repeats, warmup=warmup,
                   vocab_size=experiments_common.VOCAB_SIZE), f)
  script = os.path.join(work_dir, 'timer.py')
  with open(script, 'w') as f:
    f.write(TIMER)
  outside = tempfile.mkdtemp(dir=work_dir)
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  result = subprocess.run([sys.executable, '-I', script, job], cwd=outside,
                          env=env, capture_output=True, text=True,
                          check=False)
  lines = [l for l in result.stdout.splitlines() if l.startswith('TIMES ')]
  if result.returncode or not lines:
    raise RuntimeError(f'timing process failed: {result.stderr[-3000:]}')
  return {k: min(v) for k, v in json.loads(lines[-1][6:]).items()}


def time_python(models, seq_lengths, batch_sizes, repeats: int,
                warmup: int) -> Dict[str, float]:
  """Fastest call of each Keras model on ids, the models alternating."""
  fns = {name: tf.function(lambda x, m=model: m(x, training=False))
         for name, model in models.items()}
  best = {}
  for seq in seq_lengths:
    for batch in batch_sizes:
      shape = (batch, seq)
      ids = np.random.default_rng(0).integers(
          999, experiments_common.VOCAB_SIZE, shape)
      inputs = dict(input_word_ids=tf.constant(ids, tf.int32),
                    input_mask=tf.ones(shape, tf.int32),
                    input_type_ids=tf.zeros(shape, tf.int32))
      times = {name: [] for name in fns}
      for fn in fns.values():
        for _ in range(warmup):
          fn(inputs).numpy()
      names = list(fns)
      for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
          start = time.perf_counter()
          fns[name](inputs).numpy()
          times[name].append(time.perf_counter() - start)
      for name, values in times.items():
        best[f'{name}|{seq}|{batch}|python'] = min(values)
  return best


def table(times: Dict[str, float], names, seq_lengths, batch_sizes) -> str:
  """A markdown table of latencies (ms) and speed-ups over BERT."""
  head = ('| model | seq | batch | SavedModel ids (ms) | SavedModel text (ms)'
          ' | Python ids (ms) | speed-up ids | speed-up text | speed-up '
          'Python | ids vs Python |')
  lines = [head, '|' + '---|' * 10]
  for seq in seq_lengths:
    for batch in batch_sizes:
      ref = {k: times[f'bert|{seq}|{batch}|{k}']
             for k in ('serving_default', 'serve_text', 'python')}
      for name in names:
        t = {k: times[f'{name}|{seq}|{batch}|{k}']
             for k in ('serving_default', 'serve_text', 'python')}
        up = {k: ref[k] / t[k] for k in t}
        lines.append(
            f'| {name} | {seq} | {batch} | {1e3 * t["serving_default"]:.1f} '
            f'| {1e3 * t["serve_text"]:.1f} | {1e3 * t["python"]:.1f} | '
            f'{up["serving_default"]:.2f}x | {up["serve_text"]:.2f}x | '
            f'{up["python"]:.2f}x | '
            f'{up["serving_default"] / up["python"]:.2f} |')
  return '\n'.join(lines)


def run(names, seq_lengths, batch_sizes, repeats: int, warmup: int,
        work_dir: str) -> str:
  """Exports and times the models; returns the latency table."""
  paths, models = export_models(names, seq_lengths, work_dir)
  times = time_python(models, seq_lengths, batch_sizes, repeats, warmup)
  times.update(time_saved_models(paths, seq_lengths, batch_sizes, repeats,
                                 warmup, work_dir))
  return table(times, names, seq_lengths, batch_sizes)


def main(_):
  """Checks the flags and prints the serving latency table."""
  f = flags.FLAGS
  names = f.models
  unknown = sorted(set(names) - set(MODELS))
  if unknown or 'bert' not in names:
    sys.exit(f'error: --models={names}: choose among {sorted(MODELS)}, '
             'bert included (the reference).')
  seqs = [int(s) for s in f.seq_lengths]
  batches = [int(b) for b in f.batch_sizes]
  work_dir = f.work_dir or tempfile.mkdtemp(prefix='serving_benchmark_')
  load = os.getloadavg()
  text = run(names, seqs, batches, f.repeats, f.warmup, work_dir)
  load_after = os.getloadavg()
  print(text)
  note = (f'Load average {load[0]:.1f} before, {load_after[0]:.1f} after '
          f'(1-minute); {os.cpu_count()} CPUs.')
  print(note)
  if f.update_docs:
    command = ('python -m token_drop.benchmarks.serving_benchmark '
               f'--models={",".join(names)} --seq_lengths='
               f'{",".join(map(str, seqs))} --batch_sizes='
               f'{",".join(map(str, batches))} --repeats={f.repeats}')
    common.write_section(
        '## Serving',
        '## Serving\n\nExported SavedModels (`token_drop.tools.'
        'export_saved_model`) timed in a fresh process without this '
        'package; fastest of the calls, models alternating; speed-ups '
        'over BERT; "ids vs Python" is the exported speed-up divided by '
        f'the in-Python one.\n\n`{command}`\n\n{text}\n\n{note}\n')


def define_flags():
  """Defines the benchmark's flags (only when run as a script)."""
  flags.DEFINE_list('models', ['bert', 'narrow_bert', 'bort'],
                    f'Models among {sorted(MODELS)} (bert is the reference).')
  flags.DEFINE_list('seq_lengths', ['128', '512'], 'Sequence lengths.')
  flags.DEFINE_list('batch_sizes', ['1', '32'], 'Batch sizes.')
  flags.DEFINE_integer('repeats', 10, 'Timed calls per signature.')
  flags.DEFINE_integer('warmup', 2, 'Untimed calls first.')
  flags.DEFINE_string('work_dir', None, 'Where checkpoints and SavedModels '
                      'go (default: a new temporary folder).')
  flags.DEFINE_bool('update_docs', False,
                    'Write the table as the `## Serving` section of '
                    'docs/benchmarks.md.')


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
