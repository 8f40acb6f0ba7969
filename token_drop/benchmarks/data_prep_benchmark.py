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

"""Data preparation speed: MB of text per second at 1 and more workers.

Runs `create_pretraining_data` (seq 128, 20 predictions, packed MLM,
`--masking_rounds` (dupe_factor), 8 shards) and `build_vocab`'s word counting
on the first `--megabytes` of a corpus (cut at a document boundary), once
per worker count, and prints MB/s and the speed-up over 1 worker. The
outputs of the runs are compared byte for byte (they must be identical).
Times are end to end, including the start of the spawned workers (each
imports TensorFlow); `--workers=...` lists the counts to time. CPU seconds
(this process plus its joined workers, from getrusage) are reported too:
on a shared machine the wall-clock speed-up measures the other jobs as much
as this code, while MB per CPU-second at N workers vs 1 shows the overhead
that parallelism adds (on N idle cores the speed-up is N times that ratio).

Corpus: --corpus, the bundled demo corpus by default (repeated up to
--megabytes); pass a larger public-domain corpus for steadier rates.

Usage (from the repository root):

  python -m token_drop.benchmarks.data_prep_benchmark [--update_docs]
"""

import os
import resource
import tempfile
import time

from absl import flags

from official.nlp.tools import tokenization
from token_drop.benchmarks import common
from token_drop.core import errors
from token_drop.data import build_vocab
from token_drop.data import create_pretraining_data as cpd

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUNDLED = os.path.join(REPO, 'data', 'corpus', 'demo_train.txt')
VOCAB = os.path.join(REPO, 'data', 'vocab', 'bert_en_uncased_vocab.txt')
TITLE = '## Data preparation'

FLAGS = flags.FLAGS


def define_flags():
  """Defines the flags (not at import: other modules define the same names)."""
  flags.DEFINE_string('corpus', BUNDLED,
                      'Text corpus to read (repeated if shorter than '
                      '--megabytes); a larger one gives steadier rates.')
  flags.DEFINE_float('megabytes', 4.0, 'MB of text to process.')
  flags.DEFINE_list('workers', ['1', '2'], 'Worker counts to time.')
  flags.DEFINE_integer('masking_rounds', 1,
                       'dupe_factor: masking rounds per document.')
  flags.DEFINE_bool('update_docs', False,
                    f'Write the "{TITLE}" section of docs/benchmarks.md.')


def make_corpus(path: str, megabytes: float) -> str:
  """Writes the first `megabytes` of the corpus, ending at a blank line."""
  source = FLAGS.corpus
  if not os.path.exists(source):
    raise errors.UserError(f'--corpus={source!r}: no such file')
  limit = int(megabytes * 1e6)
  written = 0
  with open(path, 'wb') as out:
    while written < limit:
      with open(source, 'rb') as f:
        for line in f:
          out.write(line)
          written += len(line)
          if written >= limit and not line.strip():
            break
      out.write(b'\n')
  return source


def _cpu_seconds() -> float:
  """CPU time of this process and its finished (joined) workers."""
  own = resource.getrusage(resource.RUSAGE_SELF)
  children = resource.getrusage(resource.RUSAGE_CHILDREN)
  return (own.ru_utime + own.ru_stime + children.ru_utime +
          children.ru_stime)


def _timed(fn):
  """Returns (wall seconds, CPU seconds incl. workers, result) of fn()."""
  start, start_cpu = time.perf_counter(), _cpu_seconds()
  result = fn()
  return (time.perf_counter() - start, _cpu_seconds() - start_cpu, result)


def run(directory: str) -> str:
  """Times both tools at each worker count; returns the markdown table."""
  corpus = os.path.join(directory, 'corpus.txt')
  source = make_corpus(corpus, FLAGS.megabytes)
  megabytes = os.path.getsize(corpus) / 1e6
  tokenizer = tokenization.FullTokenizer(VOCAB, do_lower_case=True)
  rows, outputs, counts = [], {}, {}
  for workers in map(int, FLAGS.workers):
    files = cpd.shard_paths(os.path.join(directory, f'w{workers}', 'train'),
                            8)
    seconds, cpu, _ = _timed(lambda: cpd.create_pretraining_data(
        [corpus], files, tokenizer, cpd.ProcessorText(False, True),
        max_seq_length=128, max_predictions_per_seq=20,
        dupe_factor=FLAGS.masking_rounds, use_next_sentence_label=False,
        use_v2_feature_names=True, num_workers=workers, resume=False))
    outputs[workers] = [open(f, 'rb').read() for f in files]
    rows.append(('create_pretraining_data', workers, seconds, cpu))
    seconds, cpu, counts[workers] = _timed(lambda: build_vocab.count_words(
        [corpus], num_workers=workers, unit_bytes=1 << 20))
    rows.append(('build_vocab word counting', workers, seconds, cpu))
    print(rows[-2:], flush=True)
  first = int(FLAGS.workers[0])
  same = all(outputs[w] == outputs[first] and counts[w] == counts[first]
             for w in outputs)
  lines = [f'{megabytes:.1f} MB of {os.path.basename(source)}; '
           f'create_pretraining_data: seq 128, 20 predictions, packed MLM, '
           f'dupe_factor {FLAGS.masking_rounds}, 8 shards; build_vocab: word '
           'counting in 1 MB ranges (the WordPiece learner that follows is '
           'single-process).', '',
           '| tool | workers | wall s | MB/s | speed-up (wall) | CPU-s '
           '(all processes) | MB per CPU-s |',
           '|---|---|---|---|---|---|---|']
  base = {tool: s for tool, w, s, _ in rows if w == first}
  for tool, workers, seconds, cpu in rows:
    lines.append(f'| {tool} | {workers} | {seconds:.1f} | '
                 f'{megabytes / seconds:.3g} | '
                 f'{base[tool] / seconds:.2f}x | {cpu:.1f} | '
                 f'{megabytes / cpu:.3g} |')
  lines.append('')
  lines.append('Outputs identical for every worker count: '
               f'{"yes" if same else "NO"}.')
  return '\n'.join(lines)


def main(argv):
  """Runs the benchmark in a temporary folder and prints its table."""
  del argv
  with tempfile.TemporaryDirectory() as directory:
    table = run(directory)
  command = ('python -m token_drop.benchmarks.data_prep_benchmark '
             f'--megabytes={FLAGS.megabytes} '
             f'--workers={",".join(FLAGS.workers)} '
             f'--masking_rounds={FLAGS.masking_rounds} --update_docs')
  common.report_section(TITLE, command, table, FLAGS.update_docs)


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
