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

"""Magnitude pruning masks over encoder kernels (SparseBERT, Xu et al. 2021).

Why not tensorflow-model-optimization: its `prune_low_magnitude` wraps Keras
layers one by one and only knows built-in layers (Dense, Conv, ...); it cannot
wrap tfm's subclassed `BertEncoderV2` nor the `EinsumDense` layers inside
`TransformerEncoderBlock`/`MultiHeadAttention`, and it would change the
variable layout of checkpoints. So this module keeps one non-trainable 0/1
mask per selected kernel (a `tf.Variable` created next to the model, saved in
its checkpoints) and leaves the encoder untouched:

* `PruningConfig` says which kernels (regular expressions over variable
  names; default: query, key, value, attention output, FFN intermediate and
  FFN output of every layer -- 72 matrices in BERT-base, no embeddings,
  biases, layer norms, pooler or classifier), the schedule (cubic or
  constant, Zhu & Gupta 2017) and the scope (each matrix to the same
  sparsity, or one global magnitude threshold).
* `PruningMasks.mask_gradients` zeroes the gradients of pruned weights before
  every optimizer update; `PruningMasks.after_update` (cross-replica context)
  recomputes the masks on schedule steps and, on those steps only, multiplies
  kernels AND the optimizer's slots (Adam moments) by the masks. Between mask
  updates nothing needs re-masking: with zero gradients the moments of pruned
  weights stay zero, so Adam's step m / (sqrt(v) + eps) is zero and decoupled
  weight decay keeps a zero weight at zero.
* Masks only ever lose ones (new mask = old mask AND magnitude mask), and
  pruned weights rank below every live weight, so a weight once pruned stays
  pruned.
* Under `tf.distribute`, masks are mirrored variables assigned in
  cross-replica context from the (mirrored, hence identical) weights, so every
  replica holds the same masks.
"""

import dataclasses
import re
from typing import Dict, List, Optional, Sequence

import tensorflow as tf
import tf_keras

from official.modeling.hyperparams import base_config
from token_drop import compat

# Kernels of BertEncoderV2's TransformerEncoderBlocks (variable names).
DEFAULT_KERNEL_PATTERNS = (
    r'transformer/layer_\d+/self_attention/(query|key|value|attention_output)'
    r'/kernel',
    r'transformer/layer_\d+/(intermediate|output)/kernel',
)


@dataclasses.dataclass
class PruningConfig(base_config.Config):
  """Gradual magnitude pruning.

  Attributes:
    enabled: Whether to prune at all.
    target_sparsity: Final fraction s_f of zero weights.
    initial_sparsity: Sparsity s_i at `begin_step` (cubic schedule).
    begin_step: t0, first step at which masks are computed.
    end_step: t1, step at which `target_sparsity` is reached; masks are fixed
      afterwards.
    frequency: Masks are recomputed every `frequency` steps in [t0, t1] (and
      at t1).
    schedule: 'cubic': s_t = s_f + (s_i - s_f) (1 - (t - t0)/(t1 - t0))^3;
      'constant': s_t = s_f.
    scope: 'per_matrix' (every kernel to s_t) or 'global' (one magnitude
      threshold over all pruned kernels).
    kernel_patterns: Regular expressions; a trainable variable whose name
      matches one of them (re.search) is pruned.
  """
  enabled: bool = True
  target_sparsity: float = 0.9
  initial_sparsity: float = 0.0
  begin_step: int = 0
  end_step: int = 1000
  frequency: int = 10
  schedule: str = 'cubic'
  scope: str = 'per_matrix'
  kernel_patterns: List[str] = dataclasses.field(
      default_factory=lambda: list(DEFAULT_KERNEL_PATTERNS))

  def check(self):
    """Raises ValueError naming the bad key and value."""
    def fail(key, expected):
      raise ValueError(f'task.pruning.{key}={getattr(self, key)!r}: expected '
                       f'{expected}.')
    for key in ('target_sparsity', 'initial_sparsity'):
      if not 0.0 <= getattr(self, key) < 1.0:
        fail(key, 'a sparsity in [0, 1)')
    if self.schedule not in ('cubic', 'constant'):
      fail('schedule', "'cubic' or 'constant'")
    if self.scope not in ('per_matrix', 'global'):
      fail('scope', "'per_matrix' or 'global'")
    if self.frequency < 1:
      fail('frequency', 'an integer >= 1')
    if self.begin_step < 0 or self.end_step < self.begin_step:
      fail('end_step', f'an integer >= begin_step={self.begin_step} >= 0')
    if not self.kernel_patterns:
      fail('kernel_patterns', 'at least one regular expression')


def sparsity_at(step, config: PruningConfig) -> tf.Tensor:
  """Sparsity s_t of the schedule at `step` (clipped to [t0, t1]); float32."""
  step = tf.cast(step, tf.float32)
  t0, t1 = float(config.begin_step), float(config.end_step)
  s_i, s_f = config.initial_sparsity, config.target_sparsity
  if config.schedule == 'constant' or t1 == t0:
    return tf.constant(s_f, tf.float32)
  progress = tf.clip_by_value((step - t0) / (t1 - t0), 0.0, 1.0)
  return s_f + (s_i - s_f) * (1.0 - progress)**3


def scheduled_sparsity(step, config: PruningConfig) -> tf.Tensor:
  """What the schedule asks for at `step`: s_t, or 0 before `begin_step`.

  Before t0 no mask has been computed, so nothing is scheduled yet (the
  cubic formula alone would give s_i there).
  """
  s_t = sparsity_at(step, config)
  return tf.where(tf.cast(step, tf.int64) >= config.begin_step, s_t,
                  tf.zeros_like(s_t))


def is_update_step(step, config: PruningConfig) -> tf.Tensor:
  """Whether masks are recomputed at `step` (a bool tensor)."""
  step = tf.cast(step, tf.int64)
  t0, t1 = config.begin_step, config.end_step
  on_grid = tf.logical_or(
      tf.equal(tf.math.floormod(step - t0, config.frequency), 0),
      tf.equal(step, t1))
  return tf.logical_and(tf.logical_and(step >= t0, step <= t1), on_grid)


def select_kernels(variables: Sequence[tf.Variable],
                   patterns: Sequence[str]) -> List[tf.Variable]:
  """The variables whose name matches one of `patterns`, in model order."""
  compiled = [re.compile(p) for p in patterns]
  return [v for v in variables
          if any(c.search(v.name) for c in compiled)]


MASK_PREFIX = 'pruning_mask.'


def mask_name(variable_name: str) -> str:
  """Mask name of a kernel: 'a/b/kernel:0' -> 'pruning_mask.a.b.kernel'.

  Checkpoint keys hold it with '.' escaped as '..' (see
  token_drop.tools.sparsity_report).
  """
  return MASK_PREFIX + variable_name.split(':')[0].replace('/', '.')


def _keep_largest(scores: tf.Tensor, sparsity: tf.Tensor) -> tf.Tensor:
  """0/1 vector keeping all but round(sparsity * n) smallest of flat scores."""
  n = tf.size(scores)
  num_pruned = tf.cast(tf.round(sparsity * tf.cast(n, tf.float32)), tf.int32)
  # A stable argsort breaks ties by position, so exactly num_pruned go.
  order = tf.argsort(scores, stable=True)
  keep = order[num_pruned:]
  return tf.scatter_nd(keep[:, None], tf.ones_like(keep, tf.float32),
                       tf.reshape(n, [1]))


def magnitude_masks(kernels: Sequence[tf.Tensor], masks: Sequence[tf.Tensor],
                    sparsity: tf.Tensor, scope: str) -> List[tf.Tensor]:
  """New masks: the old masks AND keep-the-largest-|w| at `sparsity`.

  Args:
    kernels: Kernel values.
    masks: Their current 0/1 masks (same shapes).
    sparsity: Target fraction of zeros (per matrix or over all of them).
    scope: 'per_matrix' or 'global'.

  Returns:
    float32 0/1 masks, shaped as the kernels.
  """
  # Pruned weights score -1, below any |w|, so they are the first to go and
  # (with the AND below) never come back.
  scores = [tf.reshape(tf.where(m > 0, tf.abs(tf.cast(k, tf.float32)), -1.0),
                       [-1]) for k, m in zip(kernels, masks)]
  if scope == 'global':
    flat = _keep_largest(tf.concat(scores, 0), sparsity)
    kept = tf.split(flat, [int(s.shape[0]) for s in scores])
  else:
    kept = [_keep_largest(s, sparsity) for s in scores]
  return [tf.reshape(k, tf.shape(m)) * tf.cast(m, tf.float32)
          for k, m in zip(kept, masks)]


class PruningMasks(tf_keras.layers.Layer):
  """One non-trainable 0/1 mask per pruned kernel of a model.

  Create it inside the strategy scope after the model's variables exist and
  attach it to the model (`model.pruning_masks = PruningMasks(...)`) so that
  the masks are saved and restored with the model.

  Args:
    kernels: The kernels to prune (see `select_kernels`).
    config: The pruning config.
  """

  def __init__(self, kernels: Sequence[tf.Variable], config: PruningConfig,
               **kwargs):
    kwargs.setdefault('name', 'pruning_masks')
    super().__init__(trainable=False, **kwargs)
    config.check()
    if not kernels:
      raise ValueError(
          f'task.pruning.kernel_patterns={list(config.kernel_patterns)!r} '
          'match no trainable variable of the model.')
    self._config = config
    self._kernels = list(kernels)
    self._masks = []
    names = set()
    for kernel in self._kernels:
      name = mask_name(kernel.name)
      while name in names:
        name += '_'
      names.add(name)
      self._masks.append(self.add_weight(
          name=name, shape=kernel.shape, dtype=tf.float32,
          initializer='ones', trainable=False,
          # Only ever assigned in cross-replica context; reads are local.
          aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA))
    # Integer values: a dict of variables keyed by references could not be
    # tracked for checkpoints.
    self._index = {k.ref(): i for i, k in enumerate(self._kernels)}

  @property
  def config(self) -> PruningConfig:
    return self._config

  @property
  def kernels(self) -> List[tf.Variable]:
    return list(self._kernels)

  @property
  def masks(self) -> List[tf.Variable]:
    return list(self._masks)

  def mask_for(self, variable) -> Optional[tf.Variable]:
    index = self._index.get(variable.ref())
    return None if index is None else self._masks[index]

  def mask_gradients(self, grads_and_vars):
    """Zeroes the gradients of pruned weights (any context)."""
    out = []
    for grad, var in grads_and_vars:
      mask = self.mask_for(var)
      if grad is not None and mask is not None:
        grad = grad * tf.cast(mask, grad.dtype)
      out.append((grad, var))
    return out

  def _recompute_masks(self, step):
    new = magnitude_masks(
        [k.read_value() for k in self._kernels],
        [m.read_value() for m in self._masks],
        sparsity_at(step, self._config), self._config.scope)
    for mask, value in zip(self._masks, new):
      mask.assign(value)

  def update_masks(self, step):
    """Recomputes masks at schedule steps; call in cross-replica context.

    Returns:
      A bool tensor: whether the masks were recomputed.
    """
    def recompute():
      self._recompute_masks(step)
      return tf.constant(True)
    return tf.cond(is_update_step(step, self._config), recompute,
                   lambda: tf.constant(False))

  def apply_masks(self, optimizer=None):
    """Multiplies kernels and their optimizer slots by the masks.

    Call in cross-replica context (or without a strategy).

    Args:
      optimizer: Optional optimizer whose slots (e.g. Adam m and v) of the
        pruned kernels are masked too.
    """
    strategy = tf.distribute.get_strategy()
    for kernel, mask in zip(self._kernels, self._masks):
      targets = [kernel] + optimizer_slots(optimizer, kernel)
      for target in targets:
        strategy.extended.update(
            target, lambda v, m: v.assign(v * tf.cast(m, v.dtype)),
            args=(mask,), group=True)

  def after_update(self, step, optimizer=None):
    """On schedule steps only: recompute the masks, then apply them.

    Call in cross-replica context, after the optimizer update of `step`
    (whose gradients went through `mask_gradients`). Off schedule it does
    nothing: pruned weights and their moments are already zero and stay so.

    Args:
      step: The optimizer's iteration count after the update.
      optimizer: Optional optimizer whose slots are masked with the kernels.

    Returns:
      A bool tensor: whether the masks were recomputed and applied.
    """
    def recompute_and_apply():
      self._recompute_masks(step)
      # Reads of the masks below are ordered after their assignment by
      # tf.function's automatic control dependencies (and by eager order).
      self.apply_masks(optimizer)
      return tf.constant(True)
    return tf.cond(is_update_step(step, self._config), recompute_and_apply,
                   lambda: tf.constant(False))

  def achieved_sparsity(self) -> tf.Tensor:
    """Fraction of zeros over all masks (each pruned weight counts once).

    Returns:
      A float32 scalar tensor (any context; graph-friendly).
    """
    total = sum(m.shape.num_elements() for m in self._masks)
    kept = tf.add_n([tf.reduce_sum(m) for m in self._masks])
    return 1.0 - kept / float(total)

  def sparsities(self) -> Dict[str, float]:
    """Fraction of zeros of each mask, by kernel name (eager)."""
    return {k.name: 1.0 - float(tf.reduce_mean(m).numpy())
            for k, m in zip(self._kernels, self._masks)}

  def get_config(self):
    config = super().get_config()
    config.update(pruning=self._config.as_dict())
    return config


def optimizer_slots(optimizer, variable) -> List[tf.Variable]:
  """The optimizer's per-weight state of `variable` (e.g. Adam m, v).

  Args:
    optimizer: A tf_keras optimizer (legacy or new-style), possibly wrapped,
      once or more (`inner_optimizer`: a LossScaleOptimizer, the pruning
      task's MaskingOptimizer), or None.
    variable: A trainable variable the optimizer updates.

  Returns:
    The slot variables; empty before the optimizer created its slots, or for
    an optimizer without per-weight state.

  Raises:
    ValueError: if the optimizer has created its slots but none are found for
      `variable` (pruned weights could then be revived by stale moments).
  """
  if optimizer is None:
    return []
  # A LossScaleOptimizer (float16) holds no slots; its inner optimizer does.
  while getattr(optimizer, 'inner_optimizer', None) is not None:
    optimizer = optimizer.inner_optimizer
  slots = []
  if hasattr(optimizer, 'get_slot_names'):  # Legacy Keras optimizers.
    names = optimizer.get_slot_names()
    for name in names:
      try:
        slots.append(optimizer.get_slot(variable, name))
      except KeyError:  # Slots not created yet (before the first update).
        pass
    # Legacy optimizers create the slots of every variable at once.
    built = compat.legacy_optimizer_has_slots(optimizer)
    if names and built and len(slots) != len(names):
      raise _no_slots_error(optimizer, variable, names)
    return slots
  # New-style Keras optimizers (tf_keras.optimizers.Adam/AdamW/...).
  if not compat.optimizer_is_built(optimizer):
    return []
  found = compat.optimizer_slot_lists(optimizer, variable)
  if found is None or (not found and _has_state(optimizer)):
    raise _no_slots_error(optimizer, variable, list(found or ()))
  return list(found.values())


def _has_state(optimizer) -> bool:
  """Whether a built new-style optimizer holds more than its counters."""
  own = {id(v) for v in compat.optimizer_moving_average_variables(optimizer)}
  return any(id(v) not in own and v.shape.rank for v in optimizer.variables)


def _no_slots_error(optimizer, variable, names):
  return ValueError(
      f'pruning: {type(optimizer).__name__} has created its slots but none '
      f'(of {list(names)}) were found for the pruned kernel {variable.name}; '
      'its moments could revive pruned weights. Use an optimizer whose slots '
      'token_drop.layers.pruning.optimizer_slots knows (legacy tf_keras '
      "optimizers such as tfm's adamw, or tf_keras Adam/AdamW/SGD/RMSprop).")
