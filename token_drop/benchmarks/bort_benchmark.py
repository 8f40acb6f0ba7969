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

"""Inference throughput and latency of Bort vs BERT-base on this CPU.

Both encoders are tfm BertEncoderV2s (Bort: 4 layers x 1024, 8 heads,
intermediate 768; BERT-base: 12 x 768, intermediate 3072), timed alternately
in one process so that machine load affects both alike, at sequence 128 and
512 and batch 1 and 32. The table gives median latency per batch,
throughput in sequences/s, the measured speed-up and the FLOP ratio computed
from the shapes (encoder layers only), next to the 7.9x CPU speed-up that de
Wynter & Perry (2020) report.

Usage (from the repository root):

  python -m token_drop.benchmarks.bort_benchmark
  python -m token_drop.benchmarks.bort_benchmark --shapes=128x1,128x32 \
      --repeats=5
"""

import statistics

from absl import flags
import tensorflow as tf

from official.nlp.configs import encoders
from experiments import common as experiments_common
from token_drop.benchmarks import common
from token_drop.benchmarks import flops
from token_drop.core import errors

MODELS = {
    'bert_base': dict(num_layers=12, hidden_size=768, num_attention_heads=12,
                      intermediate_size=3072),
    'bort': dict(num_layers=4, hidden_size=1024, num_attention_heads=8,
                 intermediate_size=768),
}
PAPER_SPEEDUP = 7.9

FLAGS = flags.FLAGS


def define_flags():
  """Defines the script's flags (when run, not on import; see common)."""
  flags.DEFINE_list('shapes', ['128x1', '128x32', '512x1', '512x32'],
                    'SEQxBATCH shapes.')
  flags.DEFINE_integer('repeats', 5, 'Timed calls per model and shape.')


def build(name: str):
  """Builds the tfm BERT encoder of `MODELS[name]`."""
  config = encoders.EncoderConfig(type='bert', bert=encoders.BertEncoderConfig(
      vocab_size=experiments_common.VOCAB_SIZE, max_position_embeddings=512,
      dropout_rate=0.0, attention_dropout_rate=0.0, **MODELS[name]))
  return encoders.build_encoder(config)


def model_flops(name: str, seq_length: int) -> int:
  """Encoder FLOPs of `MODELS[name]` at `seq_length`."""
  m = MODELS[name]
  return flops.encoder_flops(m['num_layers'], seq_length, m['hidden_size'],
                             m['intermediate_size'])


def _inputs(batch: int, seq_length: int):
  ids = tf.random.stateless_uniform([batch, seq_length], seed=[1, 2],
                                    minval=1000, maxval=30000, dtype=tf.int32)
  return dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
              input_type_ids=tf.zeros_like(ids))


def measure(shapes, repeats: int):
  """Times both encoders alternately; returns one row per shape."""
  forwards = {}
  for name in MODELS:
    encoder = build(name)
    forwards[name] = tf.function(
        lambda x, encoder=encoder: encoder(x, training=False)['pooled_output'])
  rows = []
  for seq_length, batch in shapes:
    times = common.alternate_time(forwards, repeats,
                                  [_inputs(batch, seq_length)])
    median = {name: statistics.median(t['wall'])
              for name, t in times.items()}
    rows.append(dict(
        seq=seq_length, batch=batch,
        bert_ms=1000 * median['bert_base'], bort_ms=1000 * median['bort'],
        bert_seq_s=batch / median['bert_base'],
        bort_seq_s=batch / median['bort'],
        speedup=median['bert_base'] / median['bort'],
        flop_ratio=model_flops('bert_base', seq_length) /
        model_flops('bort', seq_length)))
  return rows


def format_table(rows) -> str:
  """Formats the measured rows as a Markdown table."""
  lines = ['| seq | batch | BERT-base latency (ms) | Bort latency (ms) | '
           'BERT-base seq/s | Bort seq/s | measured speed-up | FLOP ratio |'
           ' paper |',
           '| --- | --- | --- | --- | --- | --- | --- | --- | --- |']
  for r in rows:
    lines.append(
        f"| {r['seq']} | {r['batch']} | {r['bert_ms']:.1f} | "
        f"{r['bort_ms']:.1f} | {r['bert_seq_s']:.2f} | {r['bort_seq_s']:.2f} "
        f"| {r['speedup']:.2f}x | {r['flop_ratio']:.2f}x | "
        f'{PAPER_SPEEDUP}x |')
  return '\n'.join(lines)


def parse_shapes(items):
  """['128x1', ...] -> [(128, 1), ...]; a bad item is a user error."""
  shapes = []
  for item in items:
    seq, _, batch = item.partition('x')
    if not (seq.isdigit() and batch.isdigit()):
      raise errors.UserError(
          f'--shapes: {item!r} is not SEQxBATCH; expected items separated by '
          'commas, e.g. 128x1,512x32.')
    shapes.append((int(seq), int(batch)))
  return shapes


def main(_):
  """Prints the latency table for the --shapes."""
  print(format_table(measure(parse_shapes(FLAGS.shapes), FLAGS.repeats)))


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
