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

"""Token-dropping masked-LM pretraining task.

The shared masked-LM task (`token_drop.tasks.masked_lm`) with the importance
table update of token dropping: after every training step the table of the
`TokenDropBertEncoder` moves towards the step's mean MLM loss of each
predicted id (weight-0 slots ignored, one update per id, all-reduced across
replicas; see `token_drop.layers.token_importance`). Validation steps run the
encoder without dropping and never touch the table.

Tokens are dropped only in this task's training step (it runs the model
inside `encoder.token_dropping()`); validation, and any other task built on
the same encoder config (fine-tuning), run the full sequence.

The table is attached to the pretrainer model as `model.token_importance`, so
tfm's trainer checkpoints (model_dir) save and restore it, while
`model.checkpoint_items` (what a BERT fine-tuning task loads) stay plain
BERT. `task.init_checkpoint` also restores a table it holds: this task's
(`model/token_importance/...` in a model_dir checkpoint) or the upstream
tfm project's (official/projects/token_dropping, whose encoder holds it as
`_token_importance_embed/importance_embed`), so a run moved here goes on
with what it learned.

Training metrics, written to TensorBoard at every summary interval as means
over the interval:

* `token_drop_kept_fraction`: kept / non-padding positions;
* `token_importance_kept_mean`, `token_importance_dropped_mean`: mean table
  value of the kept and of the dropped non-padding positions;
* `token_importance_table_{min,p10,p50,p90,max}`: quantiles of the table;
* `token_importance_table_updated_fraction`: ids whose value left the initial
  value (ids predicted at least once).
"""

import dataclasses
import re
from typing import Optional, Tuple

from absl import logging
import numpy as np
import tensorflow as tf
import tf_keras

from official.core import task_factory
from token_drop.core import config_parser
from token_drop.encoders import token_drop_bert
from token_drop.layers import positions
from token_drop.tasks import masked_lm

TABLE_QUANTILES = (('min', 0.0), ('p10', 0.1), ('p50', 0.5), ('p90', 0.9),
                   ('max', 1.0))


# Checkpoint keys of an importance table, most specific first: this task's
# (the pretrainer's `token_importance` attribute) and the upstream project's
# (its encoder's `_token_importance_embed` layer, under `encoder/` when read
# as checkpoint items and `model/...` in a model_dir checkpoint).
_TABLE_KEYS = (
    ('this package', re.compile(
        r'^model/token_importance/.*\.ATTRIBUTES/VARIABLE_VALUE$')),
    ('upstream token_dropping', re.compile(
        r'(^|/)_token_importance_embed/.*\.ATTRIBUTES/VARIABLE_VALUE$')),
)


def find_importance_table(
    checkpoint_path: str) -> Optional[Tuple[str, str, np.ndarray]]:
  """The importance table stored in a checkpoint, if any.

  Args:
    checkpoint_path: A checkpoint file prefix.

  Returns:
    (origin, key, values) or None when the checkpoint holds no table.
  """
  keys = [key for key, _ in tf.train.list_variables(checkpoint_path)]
  for origin, pattern in _TABLE_KEYS:
    found = sorted(key for key in keys if pattern.search(key))
    if found:
      # The shortest key is the table itself, not an optimizer slot of it.
      key = min(found, key=len)
      reader = tf.train.load_checkpoint(checkpoint_path)
      return origin, key, reader.get_tensor(key)
  return None


@dataclasses.dataclass
class TokenDropMaskedLMConfig(masked_lm.MaskedLMConfig):
  """Masked-LM config with encoder `encoder.any: TokenDropBertEncoderConfig`."""


def _table_stats(table: tf.Tensor, init_value: float):
  values = tf.sort(table)
  size = table.shape[0]
  stats = {}
  for name, q in TABLE_QUANTILES:
    stats[f'token_importance_table_{name}'] = values[int(round(q * (size - 1)))]
  stats['token_importance_table_updated_fraction'] = tf.reduce_mean(
      tf.cast(tf.not_equal(table, init_value), tf.float32))
  return stats


def drop_stats(kept: tf.Tensor, importance: tf.Tensor, input_mask: tf.Tensor):
  """Per-step statistics of a selection.

  Args:
    kept: int [batch, k] kept positions.
    importance: float [batch, seq] importance of each position.
    input_mask: int [batch, seq], 0 at padding.

  Returns:
    dict name -> (value, weight) for weighted means: kept fraction of the
    non-padding positions, mean importance of kept and of dropped ones.
  """
  # A scatter of the k kept positions, not a [batch, k, seq] one-hot: this
  # runs every step.
  is_kept = positions.scatter_positions(
      tf.zeros(tf.shape(importance), tf.float32), kept,
      tf.ones(tf.shape(kept), tf.float32))
  valid = tf.cast(tf.not_equal(input_mask, 0), tf.float32)
  kept_valid = is_kept * valid
  dropped_valid = (1.0 - is_kept) * valid
  n_valid = tf.reduce_sum(valid)
  n_kept = tf.reduce_sum(kept_valid)
  n_dropped = tf.reduce_sum(dropped_valid)
  return {
      'token_drop_kept_fraction': (tf.math.divide_no_nan(n_kept, n_valid),
                                   n_valid),
      'token_importance_kept_mean': (tf.math.divide_no_nan(
          tf.reduce_sum(importance * kept_valid), n_kept), n_kept),
      'token_importance_dropped_mean': (tf.math.divide_no_nan(
          tf.reduce_sum(importance * dropped_valid), n_dropped), n_dropped),
  }


@task_factory.register_task_cls(TokenDropMaskedLMConfig)
class TokenDropMaskedLMTask(masked_lm.MaskedLMTask):
  """Masked LM with a token-dropping encoder and its importance update."""

  def __init__(self, params: TokenDropMaskedLMConfig, logging_dir=None,
               name=None):
    super().__init__(params, logging_dir=logging_dir, name=name)
    encoder = params.model.encoder
    encoder_cfg = encoder.get() if hasattr(encoder, 'get') else None
    if not isinstance(encoder_cfg,
                      token_drop_bert.TokenDropBertEncoderConfig):
      raise config_parser.ConfigError(
          'task.model.encoder must be `type: any` with a token-dropping '
          'encoder config (token_keep_k, token_loss_beta, ...), got '
          f'type={getattr(encoder, "type", None)!r}.')
    seq_length = getattr(params.train_data, 'seq_length', None)
    if isinstance(seq_length, int) and encoder_cfg.token_keep_k > seq_length:
      raise config_parser.ConfigError(
          f'task.model.encoder.any.token_keep_k={encoder_cfg.token_keep_k} is '
          f'larger than task.train_data.seq_length={seq_length}; it must be '
          'at most the sequence length (the paper keeps half).')

  def build_model(self, params=None):
    model = super().build_model(params)
    encoder = model.encoder_network
    if not isinstance(encoder, token_drop_bert.TokenDropBertEncoder):
      raise config_parser.ConfigError(
          'TokenDropMaskedLMTask needs a TokenDropBertEncoder, got '
          f'{type(encoder).__name__}.')
    # Tracked here so trainer checkpoints hold the table, outside
    # `checkpoint_items` so init/fine-tuning checkpoints stay plain BERT.
    model.token_importance = encoder.token_importance
    return model

  def initialize(self, model):
    """Loads `init_checkpoint` (BERT items) and any importance table in it.

    Args:
      model: The pretrainer model built by `build_model`.

    Raises:
      ConfigError: if the checkpoint's table does not have one entry per
        vocabulary id of this encoder.
    """
    super().initialize(model)
    path = self.task_config.init_checkpoint
    if path and tf.io.gfile.isdir(path):
      path = tf.train.latest_checkpoint(path)
    if not path:
      return
    found = find_importance_table(path)
    if found is None:
      logging.info('%s holds no token importance table; it starts at %s.',
                   path, model.encoder_network.token_importance.init_value)
      return
    origin, key, values = found
    table = model.encoder_network.token_importance.table
    if tuple(values.shape) != tuple(table.shape):
      raise config_parser.ConfigError(
          f'task.init_checkpoint={path}: its token importance table {key} '
          f'has shape {tuple(values.shape)}, expected {tuple(table.shape)} '
          '(one entry per id of task.model.encoder.any.vocab_size).')
    table.assign(values.astype(np.float32))
    logging.info('Restored the token importance table from %s (%s, %s).',
                 path, origin, key)

  def train_step(self, inputs, model: tf_keras.Model,
                 optimizer: tf_keras.optimizers.Optimizer, metrics):
    """The masked-LM training step, with token dropping turned on.

    Args:
      inputs: A dictionary of input tensors.
      model: The model.
      optimizer: The optimizer.
      metrics: A list of metrics.

    Returns:
      A dictionary of logs.
    """
    with model.encoder_network.token_dropping():
      return super().train_step(inputs, model, optimizer, metrics)

  def build_metrics(self, training=None):
    metrics = super().build_metrics(training)
    if training:
      names = ['token_drop_kept_fraction', 'token_importance_kept_mean',
               'token_importance_dropped_mean']
      names += [f'token_importance_table_{name}'
                for name, _ in TABLE_QUANTILES]
      names.append('token_importance_table_updated_fraction')
      metrics.extend(tf_keras.metrics.Mean(name=name) for name in names)
    return metrics

  def after_train_step(self, inputs, model_outputs, lm_losses, model,
                       metrics):
    importance_layer = model.encoder_network.token_importance
    update = importance_layer.update(inputs['masked_lm_ids'], lm_losses,
                                     inputs['masked_lm_weights'])
    with tf.control_dependencies([update]):
      table = tf.identity(importance_layer.table)
    metrics = {metric.name: metric for metric in metrics}
    if 'token_drop_kept_positions' in model_outputs:
      for name, (value, weight) in drop_stats(
          model_outputs['token_drop_kept_positions'],
          model_outputs['token_drop_importance'],
          inputs['input_mask']).items():
        if name in metrics:
          metrics[name].update_state(value, sample_weight=weight)
    for name, value in _table_stats(table, importance_layer.init_value).items():
      if name in metrics:
        metrics[name].update_state(value)
    return None
