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

"""Graceful stop on SIGTERM and SIGINT (preemption and Ctrl-C).

The first SIGTERM or SIGINT asks the run to stop: the controller
(`token_drop.core.trainer.Controller`) checks the request between training
loops, and the driver writes a checkpoint at the global step reached (the
training clock is part of the checkpoint), prints one line and exits with
`128 + signal number` (143 for SIGTERM, 130 for Ctrl-C, the shell's
convention for a process ended by a signal), so that `train.py && export`
does not go on with an unfinished model. A second signal exits at once,
without saving; a checkpoint write it interrupts leaves a `ckpt-*_temp`
folder that the next run removes.

The stop happens at the end of the current loop of `trainer.steps_per_loop`
steps, not after the current step: orbit runs a loop as one compiled
`tf.function`, which Python cannot enter. The checkpoint holds the true step
(the loop's last one), so no completed step is lost; a run that must stop
within a preemption notice of a few seconds wants a small `steps_per_loop`.

Why not tfm's preemption support: tfm adds orbit's `SaveCheckpointIfPreempted`
(`tf.distribute.experimental.PreemptionCheckpointHandler`) only when the
strategy has a cluster resolver, i.e. to multi-worker runs, where it
coordinates the step at which all workers save and keeps training
(`keep_running_after_save`). A single process (one_device or mirrored)
gets nothing from it: it watches SIGTERM only (not Ctrl-C), runs its
handler in Python's main thread (so it cannot react during a compiled loop),
and exits through a platform-specific `exit_fn`. Multi-worker runs keep
tfm's handler: this module is not installed there (workers could otherwise
stop at different loops and hang in a collective).

Python runs signal handlers in the main thread between bytecodes, so a
handler alone would not run before a long compiled loop returns. The module
therefore also registers a wakeup file descriptor (`signal.set_wakeup_fd`),
which the interpreter writes at once from its C-level handler; a daemon
thread reads it, records the stop request and, on a second signal, exits
the process.
"""

import os
import signal
import socket
import sys
import threading
from typing import Optional

from absl import logging

SIGNALS = (signal.SIGTERM, signal.SIGINT)


def exit_code(signum: int) -> int:
  """The shell's exit status of a process ended by signal `signum`."""
  return 128 + int(signum)


def signal_name(signum: int) -> str:
  """The name of signal `signum`, e.g. SIGTERM."""
  return signal.Signals(signum).name


class StopRequest:
  """Turns SIGTERM/SIGINT into a request checked between training loops.

  Use as a context manager around the run; the previous handlers are
  restored on exit. Installing is skipped (and `installed` is False) outside
  the main thread, where Python cannot set signal handlers.

  Args:
    exit_at_once: Exit on the first signal (for runs with nothing to save,
      e.g. evaluation), still without a traceback.
  """

  def __init__(self, exit_at_once: bool = False):
    self._exit_at_once = exit_at_once
    self._lock = threading.Lock()
    self._signum: Optional[int] = None
    self._old_handlers = {}
    self._old_wakeup_fd = -1
    self._sockets = None
    self._thread = None
    self.installed = False

  @property
  def signum(self) -> Optional[int]:
    """The first signal received, or None."""
    return self._signum

  @property
  def requested(self) -> bool:
    return self._signum is not None

  def install(self) -> bool:
    """Installs the handlers; returns whether it could (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
      logging.warning('not in the main thread: SIGTERM/SIGINT keep their '
                      'default handling (no checkpoint on stop)')
      return False
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    self._sockets = (reader, writer)
    self._old_wakeup_fd = signal.set_wakeup_fd(writer.fileno(),
                                               warn_on_full_buffer=False)
    for signum in SIGNALS:
      # The C-level handler that writes the wakeup fd runs only for signals
      # with a Python handler; the thread acts, this one has nothing to do.
      self._old_handlers[signum] = signal.signal(signum, lambda *_: None)
    self._thread = threading.Thread(target=self._watch, args=(reader,),
                                    name='graceful_stop', daemon=True)
    self._thread.start()
    self.installed = True
    return True

  def uninstall(self):
    """Restores the previous handlers and wakeup fd."""
    if not self.installed:
      return
    for signum, handler in self._old_handlers.items():
      signal.signal(signum, handler)
    signal.set_wakeup_fd(self._old_wakeup_fd)
    reader, writer = self._sockets
    # Closing the writer ends the watcher thread's read (end of stream).
    writer.close()
    self._thread.join(timeout=5)
    reader.close()
    self.installed = False

  def __enter__(self) -> 'StopRequest':
    self.install()
    return self

  def __exit__(self, *exc_info):
    self.uninstall()

  def _watch(self, reader: socket.socket):
    while True:
      try:
        data = reader.recv(64)
      except OSError:
        return
      if not data:
        return
      for signum in data:
        if signum in SIGNALS:
          self.notify(signum)

  def notify(self, signum: int):
    """Records signal `signum`: a stop request, or an exit if it repeats.

    Args:
      signum: The signal received.
    """
    with self._lock:
      first = self._signum is None
      if first:
        self._signum = signum
    name = signal_name(signum)
    if first and not self._exit_at_once:
      logging.warning('%s received: stopping after the current training '
                      'loop', name)
      print(f'{name} received: stopping after the current training loop and '
            'saving a checkpoint (send it again to exit at once, without '
            'saving)', file=sys.stderr, flush=True)
      return
    detail = ('exiting at once without saving' if not first else
              'exiting (nothing to save)')
    print(f'stopped by {name}: {detail}', file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(exit_code(signum))  # pylint: disable=protected-access


def is_multi_worker(params, strategy=None) -> bool:
  """Whether the run spans several processes (tfm's preemption handler's).

  Args:
    params: The experiment config (`runtime.distribution_strategy`).
    strategy: The strategy the driver was given, if any.

  Returns:
    True for multi-worker mirrored and TPU runs.
  """
  if strategy is not None:
    resolver = getattr(strategy, 'cluster_resolver', None)
    return bool(resolver and resolver.cluster_spec().jobs)
  return params.runtime.distribution_strategy in ('multi_worker_mirrored',
                                                  'tpu')
