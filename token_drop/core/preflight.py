"""Consistency checks between the model and data configs, run before training.

The data loaders check their own files when they are built (before the first
step too); this module checks what needs both the model and the data config.
"""

from typing import Optional

from official.core import config_definitions as cfg
from token_drop.data import checks


def encoder_config(params: cfg.ExperimentConfig):
  """The active encoder config of a task, or None when the task has none."""
  model = getattr(params.task, 'model', None)
  encoder = getattr(model, 'encoder', None)
  if encoder is None:
    return None
  return encoder.get() if hasattr(encoder, 'get') else encoder


def _get(config, name) -> Optional[int]:
  value = getattr(config, name, None) if config is not None else None
  return value if isinstance(value, int) else None


def check(params: cfg.ExperimentConfig) -> None:
  """Raises `checks.InputDataError` on a model/data mismatch.

  Args:
    params: The parsed experiment config.
  """
  encoder = encoder_config(params)
  max_positions = _get(encoder, 'max_position_embeddings')
  vocab_size = _get(encoder, 'vocab_size')
  for name in ('train_data', 'validation_data'):
    data = getattr(params.task, name, None)
    if data is None or not getattr(data, 'input_path', None):
      continue
    seq_length = _get(data, 'seq_length')
    if seq_length and max_positions and seq_length > max_positions:
      raise checks.InputDataError(
          f'task.{name}.seq_length={seq_length} is larger than '
          f'task.model.encoder max_position_embeddings={max_positions}.')
    vocab_file = getattr(data, 'vocab_file', None)
    if vocab_file and vocab_size:
      checks.check_vocab_size(vocab_file, vocab_size,
                              'task.model.encoder vocab_size')
