"""The tfm Trainer with throughput summaries and the last logs kept.

tfm's Controller already writes `steps_per_second`; this trainer adds
`tokens_per_second` (global batch x sequence length per step, padding
included) so that encoders that drop or narrow tokens are compared on the same
input rate, and keeps the last train/eval logs for the driver's final report.
"""

import time
from typing import Any, Dict, Optional

from official.core import base_trainer


def tokens_per_step(config) -> Optional[int]:
  """Global batch size x sequence length of the training data, if known."""
  data = getattr(config.task, 'train_data', None)
  batch = getattr(data, 'global_batch_size', None)
  seq_length = getattr(data, 'seq_length', None) or getattr(
      data, 'max_seq_length', None)
  if isinstance(batch, int) and isinstance(seq_length, int):
    return batch * seq_length
  return None


class Trainer(base_trainer.Trainer):
  """Adds tokens/sec to the train summaries; remembers the latest logs."""

  def __init__(self, *args, **kwargs):
    super().__init__(*args, **kwargs)
    self._tokens_per_step = tokens_per_step(self.config)
    self._loop_start = None
    self.last_train_logs: Dict[str, Any] = {}
    self.last_eval_logs: Dict[str, Any] = {}

  def train_loop_begin(self):
    super().train_loop_begin()
    self._loop_start = (time.monotonic(), int(self.global_step.numpy()))

  def train_loop_end(self):
    logs = super().train_loop_end()
    if self._loop_start and self._tokens_per_step:
      start_time, start_step = self._loop_start
      elapsed = time.monotonic() - start_time
      steps = int(self.global_step.numpy()) - start_step
      if elapsed > 0 and steps > 0:
        logs['tokens_per_second'] = steps * self._tokens_per_step / elapsed
    self.last_train_logs = dict(logs)
    return logs

  def eval_end(self, aggregated_logs=None):
    logs = super().eval_end(aggregated_logs)
    self.last_eval_logs = dict(logs)
    return logs
