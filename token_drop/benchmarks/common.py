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

"""Pieces shared by the benchmark and check scripts.

Every timing benchmark uses `alternate_time` (the models alternate in one
process, so machine load affects all alike); every script declares absl
flags in a `define_flags()` called under `__main__` (not on import: the
tests import several scripts whose flags share names) and reads training
results from the files train.py writes (`token_drop.tools.run_metrics`).
"""

import os
import time
from typing import Any, Callable, Dict, Hashable, List, Optional, Sequence

import numpy as np
import tensorflow as tf

from experiments import common as experiments_common
from official.modeling import optimization

# The repository checkout; the scripts' --update_docs write DOCS there.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DOCS = os.path.join(REPO_ROOT, 'docs', 'benchmarks.md')


def train_step_fn(task, optimizer_config, jit: bool = False):
  """A compiled training step (forward, backward, update) of a task's model.

  Args:
    task: The task; its own `train_step` is timed (method-specific work such
      as the token-drop table update included).
    optimizer_config: An `OptimizationConfig`.
    jit: Compile with XLA.

  Returns:
    A function of a batch that runs one step and returns the loss.
  """
  model = task.build_model()
  factory = optimization.OptimizerFactory(optimizer_config)
  optimizer = factory.build_optimizer(factory.build_learning_rate())
  metrics = task.build_metrics(training=True)

  @tf.function(jit_compile=jit)
  def step(inputs):
    return task.train_step(inputs, model, optimizer, metrics)[task.loss]

  return step


def masked_lm_inputs(
    batch: int, seq: int, preds: int, seed: int,
    vocab_size: int = experiments_common.VOCAB_SIZE) -> Dict[str, tf.Tensor]:
  """A random masked-LM batch of full sequences (no padding).

  Args:
    batch: Sequences.
    seq: Sequence length ([CLS] first, [SEP] last).
    preds: Masked positions per sequence, distinct, sorted, between them.
    seed: Seeds the ids and positions.
    vocab_size: Ids are drawn from [999, vocab_size) (no special tokens).

  Returns:
    The features of tfm's pretraining data loader, int32.
  """
  rng = np.random.RandomState(seed)
  ids = rng.randint(999, vocab_size, size=(batch, seq)).astype(np.int32)
  ids[:, 0], ids[:, -1] = 101, 102
  positions = np.sort(np.stack([rng.choice(np.arange(1, seq - 1), preds,
                                           False) for _ in range(batch)]),
                      axis=1).astype(np.int32)
  return dict(
      input_word_ids=tf.constant(ids),
      input_mask=tf.ones([batch, seq], tf.int32),
      input_type_ids=tf.zeros([batch, seq], tf.int32),
      masked_lm_positions=tf.constant(positions),
      masked_lm_ids=tf.constant(np.take_along_axis(ids, positions, 1)),
      masked_lm_weights=tf.ones([batch, preds], tf.float32))


def _fetch(result: Any) -> None:
  """Waits for every tensor in `result` (TF runs ops asynchronously)."""
  for t in tf.nest.flatten(result):
    if hasattr(t, 'numpy'):
      t.numpy()


def alternate_time(fns: Dict[Hashable, Callable[..., Any]], rounds: int,
                   inputs: Optional[Sequence[Any]] = None,
                   warm_up: bool = True
                  ) -> Dict[Hashable, Dict[str, List[float]]]:
  """Times callables alternately in this process: wall and CPU seconds.

  Each callable is first called once per input (tracing, compilation and
  warm-up, not timed) unless `warm_up` is off. Then, `rounds` times, every
  callable is called once, the order reversed every other round so that none
  always runs first. Each call's result is fetched (`.numpy()` on its
  tensors) inside the timing, so asynchronous work is counted.

  Args:
    fns: Name -> callable. Called with no argument if `inputs` is None, else
      with `inputs[r % len(inputs)]` in round r.
    rounds: Timed calls per callable.
    inputs: Optional inputs the rounds cycle through.
    warm_up: Call every callable on every input before timing; off for
      callables already traced and run (e.g. built under another policy).

  Returns:
    Name -> {'wall': [seconds per call], 'cpu': [process CPU seconds per
    call]}, in round order. Process CPU time counts every thread of this
    process and not the time spent waiting for a core, so its ratios are
    less disturbed by other jobs than wall-time ratios; the minimum wall time
    is the call least disturbed.
  """
  if rounds < 1:
    raise ValueError(f'rounds={rounds}; expected at least 1.')
  calls = [()] if inputs is None else [(x,) for x in inputs]
  for fn in fns.values() if warm_up else ():
    for args in calls:
      _fetch(fn(*args))
  times = {name: {'wall': [], 'cpu': []} for name in fns}
  for r in range(rounds):
    order = list(fns) if r % 2 == 0 else list(reversed(list(fns)))
    args = calls[r % len(calls)]
    for name in order:
      start, start_cpu = time.perf_counter(), time.process_time()
      _fetch(fns[name](*args))
      times[name]['wall'].append(time.perf_counter() - start)
      times[name]['cpu'].append(time.process_time() - start_cpu)
  return times


def write_section(title: str, text: str, path: str = DOCS) -> None:
  """Replaces the `title` section of a markdown file (or appends it).

  Every script's --update_docs writes through this function.

  Args:
    title: The section's heading line, e.g. `## Token dropping`.
    text: The new section, starting with `title`.
    path: The markdown file (created with a `# Benchmarks` header if
      absent); docs/benchmarks.md of the checkout by default.
  """
  os.makedirs(os.path.dirname(path), exist_ok=True)
  content = ''
  if os.path.exists(path):
    with open(path, encoding='utf-8') as f:
      content = f.read()
  if not content.strip():
    content = '# Benchmarks\n'
  start = content.find(title)
  if start >= 0:
    end = content.find('\n## ', start + len(title))
    rest = content[end + 1:] if end >= 0 else ''
    content = content[:start] + text + ('\n' + rest if rest else '')
  else:
    content = content.rstrip('\n') + '\n\n' + text
  with open(path, 'w', encoding='utf-8') as f:
    f.write(content)


def report_section(title: str, command: str, table: str, update_docs: bool,
                   load_note: str = '', path: str = DOCS) -> str:
  """Prints a benchmark's docs section; with `update_docs`, writes it too.

  The section is `title`, the command that reproduces it, the table and the
  load average at the end (the machine is shared, so it qualifies every
  wall-clock number).

  Args:
    title: The section's heading line, e.g. `## Input pipeline`.
    command: The command line, shown in a code block.
    table: The results (Markdown).
    update_docs: Replace (or append) the `title` section of `path`.
    load_note: Appended to "machine shared with other jobs" (e.g. which of
      the numbers the load disturbs).
    path: The markdown file (DOCS by default).

  Returns:
    The section's text.
  """
  load = os.getloadavg()
  text = (f'{title}\n\n```\n{command}\n```\n\n{table}\n\n'
          f'Load average at the end: {load[0]:.1f}, {load[1]:.1f}, '
          f'{load[2]:.1f} on {os.cpu_count()} cores (machine shared with '
          f'other jobs{load_note}).\n')
  print(text)
  if update_docs:
    write_section(title, text, path)
  return text
