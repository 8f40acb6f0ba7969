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

"""Streaming text in byte ranges and running tasks in worker processes.

Shared by the corpus-scale CLIs (`create_pretraining_data`, `build_vocab`):
work is cut into tasks that depend only on the input (byte ranges of the
files, output shards), so the output is the same for any number of workers;
each task streams its lines, so memory stays bounded; a tqdm bar shows bytes
done, the rate and the ETA.

Workers are started with `spawn`: forking a process that has already run
TensorFlow can deadlock in the child.
"""

import multiprocessing
import queue
import traceback
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

import tensorflow as tf
import tqdm

# (path, first byte, end byte): the lines that start in [first, end).
ByteRange = Tuple[str, int, int]


def open_binary(path: str):
  """Opens a file for binary reading; builtin open for local files (faster)."""
  if '://' in path:
    return tf.io.gfile.GFile(path, 'rb')
  return open(path, 'rb')


def file_size(path: str) -> int:
  """Size in bytes of the file at `path`."""
  return tf.io.gfile.stat(path).length


class RangeLines:
  """Iterates over the raw lines (bytes) that start in some byte ranges.

  `bytes_read` counts the bytes consumed so far, for progress reports.
  A range must start at a line start; a line starting before `end` is read
  whole even if it ends after `end`.
  """

  def __init__(self, ranges: Sequence[ByteRange]):
    self._ranges = list(ranges)
    self.bytes_read = 0

  def lines(self, end_of_range_marker: Optional[bytes] = None
            ) -> Iterator[bytes]:
    """Yields the lines; `end_of_range_marker` (if set) after each range."""
    for path, start, end in self._ranges:
      with open_binary(path) as reader:
        reader.seek(start)
        position = start
        while position < end:
          line = reader.readline()
          if not line:
            break
          position += len(line)
          self.bytes_read += len(line)
          yield line
      if end_of_range_marker is not None:
        yield end_of_range_marker


def line_aligned_ranges(path: str, unit_bytes: int,
                        limit: Optional[int] = None) -> List[ByteRange]:
  """Cuts a file into ranges of about `unit_bytes`, each at a line start.

  Args:
    path: The file.
    unit_bytes: Target size of a range.
    limit: Read only the bytes before this offset (a line start).

  Returns:
    Consecutive ranges covering the file (up to `limit`).
  """
  size = file_size(path) if limit is None else limit
  starts = [0]
  with open_binary(path) as reader:
    while starts[-1] + unit_bytes < size:
      reader.seek(starts[-1] + unit_bytes - 1)
      # The byte before the cut is read too: if it is a newline, the cut
      # already is a line start.
      reader.readline()
      position = reader.tell()
      if position >= size:
        break
      starts.append(position)
  return [(path, a, b) for a, b in zip(starts, starts[1:] + [size]) if b > a]


def _worker(fn, tasks, results):
  """Runs `fn(task, report)` for tasks from a queue until a None arrives."""
  while True:
    item = tasks.get()
    if item is None:
      return
    index, task = item
    try:
      result = fn(task, lambda n, i=index: results.put(('progress', i, n)))
      results.put(('done', index, result))
    except Exception:  # pylint: disable=broad-except
      # The traceback text crosses the process boundary; the parent raises.
      results.put(('error', index, traceback.format_exc()))
      return


def run_tasks(fn: Callable[[Any, Callable[[int], None]], Any],
              tasks: Sequence[Any], num_workers: int, total: int, desc: str,
              progress: bool = True) -> Iterator[Tuple[int, Any]]:
  """Runs `fn(task, report)` for every task, in this process or in workers.

  Args:
    fn: A picklable (module-level) function of a task and a `report(n)`
      callback that adds `n` to the progress bar.
    tasks: Picklable tasks.
    num_workers: Processes; 1 runs the tasks in this process, in order.
    total: Progress bar total (e.g. bytes of input).
    desc: Progress bar label.
    progress: Show the tqdm bar (rate and ETA) on stderr.

  Yields:
    (task index, result) as tasks finish (in any order with workers).

  Raises:
    RuntimeError: a task failed in a worker (its traceback is in the
      message), or the workers died.
  """
  bar = tqdm.tqdm(total=total, desc=desc, unit='B', unit_scale=True,
                  mininterval=1.0, disable=not progress)
  try:
    if num_workers <= 1 or len(tasks) <= 1:
      for index, task in enumerate(tasks):
        yield index, fn(task, bar.update)
      return
    context = multiprocessing.get_context('spawn')
    task_queue, result_queue = context.Queue(), context.Queue()
    for item in enumerate(tasks):
      task_queue.put(item)
    num_workers = min(num_workers, len(tasks))
    for _ in range(num_workers):
      task_queue.put(None)
    processes = [context.Process(target=_worker,
                                 args=(fn, task_queue, result_queue),
                                 daemon=True)
                 for _ in range(num_workers)]
    for process in processes:
      process.start()
    pending = len(tasks)
    try:
      while pending:
        try:
          kind, index, payload = result_queue.get(timeout=2.0)
        except queue.Empty:
          if not any(p.is_alive() for p in processes):
            raise RuntimeError(  # pylint: disable=raise-missing-from
                f'{desc}: the worker processes exited with {pending} of '
                f'{len(tasks)} tasks unfinished (killed?).')
          continue
        if kind == 'progress':
          bar.update(payload)
        elif kind == 'error':
          raise RuntimeError(f'{desc}: task {index} failed in a worker:\n'
                             f'{payload}')
        else:
          pending -= 1
          yield index, payload
      for process in processes:
        process.join()
    finally:
      for process in processes:
        if process.is_alive():
          process.terminate()
          process.join()
  finally:
    bar.close()
