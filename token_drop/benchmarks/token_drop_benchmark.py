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

"""Training-step time of token dropping vs BERT at identical sizes.

One training step = forward, backward and AdamW update of the whole
pretrainer (encoder + MLM head), through the real tasks' `train_step`
(`TokenDropMaskedLMTask`, whose step also updates the importance table, vs
the shared `MaskedLMTask` with a `BertEncoderV2`). The two models are timed
alternately in one process so that machine load affects both alike. The
table reports the fastest step of each (the least disturbed by other
processes on a shared machine), the ratio of those minima (the measured
ratio), the ratio of the medians and of the process CPU times (less
sensitive to contention than wall time), and the FLOP ratio computed from
the shapes (matmul FLOPs of the encoder layers and the MLM head; the backward
pass multiplies both by the same factor).

Usage (from the repository root):

  python -m token_drop.benchmarks.token_drop_benchmark --sizes=tiny,base
"""

import statistics
from typing import Dict

from absl import flags

from official.core import exp_factory
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from experiments import common as experiments_common
from token_drop.benchmarks import common
from token_drop.benchmarks import flops
from token_drop.core import errors
from token_drop.encoders import token_drop_bert
from token_drop.tasks import masked_lm
from token_drop.tasks import token_drop_masked_lm

SIZES = {
    # The demo encoder (configs/demo/tiny_token_drop.yaml) on demo shapes.
    'tiny': dict(layers=4, hidden=256, heads=4, inner=1024, seq=128, keep=64,
                 preds=20, batch=32),
    # BERT-base as in the paper: 12 x 768, sequence 512, keep 256.
    'base': dict(layers=12, hidden=768, heads=12, inner=3072, seq=512,
                 keep=256, preds=76, batch=4),
}
VOCAB = experiments_common.VOCAB_SIZE

FLAGS = flags.FLAGS


def define_flags():
  """Defines the script's flags (when run, not on import; see common)."""
  flags.DEFINE_list('sizes', ['tiny', 'base'],
                    'Subset of: ' + ', '.join(SIZES))
  flags.DEFINE_integer('repeats', 8, 'Timed steps per model (alternating).')
  flags.DEFINE_integer('batch', 0, 'Override the batch size of every size.')
  flags.DEFINE_bool('jit', False, 'Compile the steps with XLA (jit_compile).')


def model_flops(s: Dict[str, int], token_drop: bool) -> int:
  """Forward FLOPs per sequence of the encoder layers plus the MLM head."""
  start, end = (token_drop_bert.default_drop_layers(s['layers'])
                if token_drop else (0, 0))
  return (flops.token_drop_encoder_flops(s['layers'], s['seq'], s['keep'],
                                         s['hidden'], s['inner'], start, end)
          + flops.mlm_head_flops(s['preds'], s['hidden'], VOCAB))


def _task_config(s: Dict[str, int], token_drop: bool):
  config = exp_factory.get_exp_config('token_drop_bert/pretraining')
  config.override({'task': {
      'model': {'encoder': {'any': {
          'num_layers': s['layers'], 'hidden_size': s['hidden'],
          'num_attention_heads': s['heads'],
          'intermediate_size': s['inner'], 'token_keep_k': s['keep'],
          'max_position_embeddings': max(512, s['seq'])}}},
      'train_data': {'seq_length': s['seq'],
                     'max_predictions_per_seq': s['preds']}}},
                  is_strict=True)
  if token_drop:
    return config
  task = config.task
  bert_cfg = masked_lm.MaskedLMConfig(
      model=task.model.as_dict(), train_data=task.train_data.as_dict())
  bert_cfg.model.encoder.type = 'bert_v2'
  bert_cfg.model.encoder.bert_v2.override({
      k: v for k, v in task.model.encoder.any.as_dict().items()
      if k in bert_cfg.model.encoder.bert_v2.as_dict()})
  config.task = bert_cfg
  return config


def _step_fn(config, jit: bool):
  """A compiled training step of the experiment's task and optimizer."""
  if isinstance(config.task, token_drop_masked_lm.TokenDropMaskedLMConfig):
    task = token_drop_masked_lm.TokenDropMaskedLMTask(config.task)
  else:
    task = masked_lm.MaskedLMTask(config.task)
  return common.train_step_fn(task, config.trainer.optimizer_config, jit)


def run(size: str, repeats: int, jit: bool) -> Dict[str, float]:
  """Times both models alternately; returns medians and ratios."""
  s = SIZES[size]
  steps = {name: _step_fn(_task_config(s, name == 'token_drop'), jit)
           for name in ('bert', 'token_drop')}
  inputs = [common.masked_lm_inputs(s['batch'], s['seq'], s['preds'], seed,
                                    VOCAB) for seed in range(2)]
  times = common.alternate_time(steps, repeats, inputs)
  wall = {name: t['wall'] for name, t in times.items()}
  cpu = {name: t['cpu'] for name, t in times.items()}
  ratio = lambda f, t: f(t['token_drop']) / f(t['bert'])
  return dict(size=size, bert_s=min(wall['bert']),
              token_drop_s=min(wall['token_drop']),
              measured_ratio=ratio(min, wall),
              median_ratio=ratio(statistics.median, wall),
              cpu_ratio=ratio(statistics.median, cpu),
              flop_ratio=model_flops(s, True) / model_flops(s, False),
              **s)


def main(_):
  """Runs the benchmark for the --sizes and prints its table."""
  unknown = [s for s in FLAGS.sizes if s not in SIZES]
  if unknown:
    raise errors.UserError(
        f'--sizes: unknown size(s) {unknown}; expected a comma-separated '
        f'subset of: {", ".join(SIZES)}.')
  rows = []
  for size in FLAGS.sizes:
    if FLAGS.batch:
      SIZES[size]['batch'] = FLAGS.batch
    rows.append(run(size, FLAGS.repeats, FLAGS.jit))
  print('| size | layers x hidden | seq | keep | batch | BERT step (s, min) | '
        'token-drop step (s, min) | measured ratio (min) | median ratio | '
        'CPU-time ratio | FLOP ratio |')
  print('|---|---|---|---|---|---|---|---|---|---|---|')
  for r in rows:
    print(f"| {r['size']} | {r['layers']}x{r['hidden']} | {r['seq']} | "
          f"{r['keep']} | {r['batch']} | {r['bert_s']:.3f} | "
          f"{r['token_drop_s']:.3f} | {r['measured_ratio']:.3f} | "
          f"{r['median_ratio']:.3f} | {r['cpu_ratio']:.3f} | "
          f"{r['flop_ratio']:.3f} |")


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
