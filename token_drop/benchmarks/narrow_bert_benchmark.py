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

"""Throughput of NarrowBERT vs BERT at identical sizes, timed alternately.

Two measurements, each timing the narrow model and the `BertEncoderV2`
model alternately in one process (so machine load affects both alike) and
reporting medians, the measured speed-up and the FLOP ratio computed from
the shapes (`token_drop.benchmarks.flops.layer_flops`: matmul FLOPs of the
encoder layers and of the MLM head; the backward pass multiplies both
models' FLOPs by about the same factor):

* `pretrain`: one training step (forward, backward, AdamW update) of the
  real tasks' `train_step`: `NarrowMaskedLMTask` (narrow at the masked
  positions) vs the shared `MaskedLMTask` with a `BertEncoderV2`.
* `infer`: sentence-classification inference (tfm's `BertClassifier` as
  built by the sentence-prediction task; narrow: [CLS] only).

Usage (from the repository root):

  python -m token_drop.benchmarks.narrow_bert_benchmark \
      --runs=pretrain:512,infer:128,infer:512
"""

import statistics
from typing import Dict

from absl import flags
import tensorflow as tf

from official.core import exp_factory
from official.core import task_factory
from official.nlp.configs import bert
from official.nlp.configs import encoders
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from experiments import common as experiments_common
from token_drop.benchmarks import common
from token_drop.benchmarks import flops
from token_drop.core import errors
from token_drop.tasks import masked_lm

VOCAB = experiments_common.VOCAB_SIZE
BASE = dict(layers=12, hidden=768, heads=12, inner=3072, full=2)
DEFAULT_BATCH = {('pretrain', 512): 2, ('infer', 128): 16, ('infer', 512): 4}

FLAGS = flags.FLAGS


def define_flags():
  """Defines the script's flags (when run, not on import; see common)."""
  flags.DEFINE_list('runs', ['pretrain:512', 'infer:128', 'infer:512'],
                    'kind:seq items (kind: pretrain|infer).')
  flags.DEFINE_integer('repeats', 6, 'Timed calls per model (alternating).')
  flags.DEFINE_integer('batch', 0,
                       'Batch size of every run (0: per-run default).')
  flags.DEFINE_bool('jit', False, 'Compile with XLA (jit_compile).')


def model_flops(kind: str, seq: int, narrow: bool, preds: int = 76,
                s: Dict[str, int] = None) -> int:
  """Forward FLOPs per sequence of the encoder layers (+ MLM head)."""
  s = s or BASE
  h, inner = s['hidden'], s['inner']
  queries = preds if kind == 'pretrain' else 1
  full = s['full'] if narrow else s['layers']
  total = flops.narrow_encoder_flops(s['layers'], full, seq, queries, h, inner)
  if kind == 'pretrain':
    total += flops.mlm_head_flops(preds, h, VOCAB)
  return total


def _encoder(narrow: bool, seq: int) -> encoders.EncoderConfig:
  common = dict(vocab_size=VOCAB, hidden_size=BASE['hidden'],
                num_layers=BASE['layers'],
                num_attention_heads=BASE['heads'],
                intermediate_size=BASE['inner'],
                max_position_embeddings=max(512, seq))
  if narrow:
    config = exp_factory.get_exp_config(
        'narrow_bert/pretraining').task.model.encoder
    config.any.override(dict(common, full_length_layers=BASE['full']))
    return config
  config = encoders.EncoderConfig(type='bert_v2')
  config.bert_v2.override(common)
  return config


def _pretrain_step(narrow: bool, seq: int, preds: int, jit: bool):
  config = exp_factory.get_exp_config('narrow_bert/pretraining')
  config.task.train_data.override({'seq_length': seq,
                                   'max_predictions_per_seq': preds})
  if narrow:
    config.task.model.override({'encoder': _encoder(True, seq).as_dict()})
    task = task_factory.get_task(config.task)
  else:
    task = masked_lm.MaskedLMTask(masked_lm.MaskedLMConfig(
        model=bert.PretrainerConfig(encoder=_encoder(False, seq),
                                    cls_heads=[]),
        train_data=config.task.train_data))
  return common.train_step_fn(task, config.trainer.optimizer_config, jit)


def _infer_fn(narrow: bool, seq: int, jit: bool):
  experiment = ('narrow_bert/sentence_prediction' if narrow else
                'finetuning/sentence_prediction')
  config = exp_factory.get_exp_config(experiment)
  config.task.model.num_classes = 2
  config.task.model.override({'encoder': _encoder(narrow, seq).as_dict()})
  model = task_factory.get_task(config.task).build_model()

  @tf.function(jit_compile=jit)
  def infer(inputs):
    return model({k: inputs[k] for k in ('input_word_ids', 'input_mask',
                                         'input_type_ids')}, training=False)

  return infer


def run(kind: str, seq: int, batch: int, repeats: int, preds: int = 76,
        jit: bool = False) -> Dict[str, float]:
  """Times BERT and NarrowBERT alternately; returns times and ratios.

  Speed-ups: of the fastest call of each model (the least disturbed by other
  jobs on a shared machine), of the medians, and of the median process CPU
  time (all threads of this process; unaffected by waiting for the CPU).
  """
  if kind == 'pretrain':
    fns = {name: _pretrain_step(name == 'narrow', seq, preds, jit)
           for name in ('bert', 'narrow')}
  else:
    fns = {name: _infer_fn(name == 'narrow', seq, jit)
           for name in ('bert', 'narrow')}
  inputs = [common.masked_lm_inputs(batch, seq, preds, seed, VOCAB)
            for seed in range(2)]
  times = common.alternate_time(fns, repeats, inputs)
  wall = {name: t['wall'] for name, t in times.items()}
  cpu = {name: t['cpu'] for name, t in times.items()}
  med = {k: statistics.median(v) for k, v in wall.items()}
  return dict(kind=kind, seq=seq, batch=batch, bert_s=min(wall['bert']),
              narrow_s=min(wall['narrow']),
              speedup=min(wall['bert']) / min(wall['narrow']),
              median_speedup=med['bert'] / med['narrow'],
              cpu_speedup=statistics.median(cpu['bert']) /
              statistics.median(cpu['narrow']),
              flop_ratio=model_flops(kind, seq, False, preds) /
              model_flops(kind, seq, True, preds))


def main(_):
  """Runs the --runs and prints their table."""
  rows = []
  for item in FLAGS.runs:
    kind, _, seq = item.partition(':')
    if kind not in ('pretrain', 'infer') or not seq.isdigit():
      raise errors.UserError(
          f'--runs: {item!r} is not KIND:SEQ with KIND pretrain or infer, '
          'e.g. pretrain:512,infer:128.')
    seq = int(seq)
    batch = FLAGS.batch or DEFAULT_BATCH.get((kind, seq), 2)
    rows.append(run(kind, seq, batch, FLAGS.repeats, jit=FLAGS.jit))
    print(rows[-1], flush=True)
  print('| measurement | seq | batch | BERT (s, min) | NarrowBERT (s, min) | '
        'speed-up (min) | speed-up (median) | CPU-time speed-up | '
        'FLOP ratio |')
  print('|---|---|---|---|---|---|---|---|---|')
  for r in rows:
    name = ('MLM training step (76 predictions)' if r['kind'] == 'pretrain'
            else 'sentence classification inference')
    print(f"| {name} | {r['seq']} | {r['batch']} | {r['bert_s']:.3f} | "
          f"{r['narrow_s']:.3f} | {r['speedup']:.2f}x | "
          f"{r['median_speedup']:.2f}x | {r['cpu_speedup']:.2f}x | "
          f"{r['flop_ratio']:.2f}x |")


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
