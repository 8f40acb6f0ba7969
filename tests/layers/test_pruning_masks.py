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

"""Tests for token_drop.layers.pruning and the pruning task mixin."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

from official.modeling import optimization
from official.modeling import performance
from official.nlp.configs import encoders
from token_drop.layers import pruning
from token_drop.tasks import pruning as pruning_tasks
from token_drop.testing import distribute
from token_drop.testing import tiers


def tiny_task(**pruning_overrides):
  config = pruning_tasks.PrunedSentencePredictionConfig()
  config.model.num_classes = 2
  config.model.encoder = encoders.EncoderConfig(
      type='bert', bert=encoders.BertEncoderConfig(
          vocab_size=40, hidden_size=16, num_layers=2, num_attention_heads=2,
          intermediate_size=32, max_position_embeddings=16))
  config.pruning.override(pruning_overrides)
  return pruning_tasks.PrunedSentencePredictionTask(config)


def adamw(learning_rate):
  return optimization.OptimizerFactory(optimization.OptimizationConfig({
      'optimizer': {'type': 'adamw', 'adamw': {'weight_decay_rate': 0.01}},
      'learning_rate': {'type': 'constant',
                        'constant': {'learning_rate': learning_rate}}})
  ).build_optimizer(learning_rate)


def batch(size=4, length=8, seed=0):
  rng = np.random.default_rng(seed)
  ids = tf.constant(rng.integers(1, 40, (size, length)), tf.int32)
  return dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
              input_type_ids=tf.zeros_like(ids),
              label_ids=tf.constant(rng.integers(0, 2, size), tf.int32))


@pytest.mark.parametrize('step', [0, 3, 10, 25, 40, 50, 60])
def test_cubic_schedule_matches_formula(step):
  config = pruning.PruningConfig(target_sparsity=0.9, initial_sparsity=0.1,
                                 begin_step=10, end_step=50)
  t = min(max(step, 10), 50)
  expected = 0.9 + (0.1 - 0.9) * (1 - (t - 10) / 40)**3
  np.testing.assert_allclose(pruning.sparsity_at(step, config).numpy(),
                             expected, rtol=1e-6)


def test_constant_schedule_and_update_steps():
  config = pruning.PruningConfig(target_sparsity=0.7, begin_step=4,
                                 end_step=13, frequency=3, schedule='constant')
  assert float(pruning.sparsity_at(5, config)) == pytest.approx(0.7)
  updates = [t for t in range(20) if bool(pruning.is_update_step(t, config))]
  assert updates == [4, 7, 10, 13]


def test_default_patterns_select_the_six_kernels_per_layer():
  model = tiny_task().build_model()
  names = [k.name for k in model.pruning_masks.kernels]
  assert len(names) == 12
  assert not any('embeddings' in n or 'bias' in n or 'pooler' in n or
                 'layer_norm' in n or 'sentence_prediction' in n
                 for n in names), names
  assert {n.split('/')[-2] for n in names} == {
      'query', 'key', 'value', 'attention_output', 'intermediate', 'output'}
  assert all(not m.trainable for m in model.pruning_masks.masks)


def test_bad_config_value_is_named():
  with pytest.raises(ValueError, match='task.pruning.scope'):
    pruning.PruningConfig(scope='layer').check()
  with pytest.raises(ValueError, match='match no trainable variable'):
    tiny_task(kernel_patterns=['nothing_like_this']).build_model()


# Each case traces a train step: 'global' in CI only.
@pytest.mark.parametrize('scope', tiers.first_fast(['per_matrix', 'global']))
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_exact_target_sparsity_at_end_step(scope):
  task = tiny_task(target_sparsity=0.75, end_step=4, frequency=2, scope=scope)
  model = task.build_model()
  optimizer = adamw(1e-3)
  step = tf.function(lambda x: task.train_step(x, model, optimizer))
  for i in range(4):
    step(batch(seed=i))
  masks = model.pruning_masks
  sizes = [int(np.prod(m.shape)) for m in masks.masks]
  zeros = [int(np.sum(m.numpy() == 0)) for m in masks.masks]
  if scope == 'per_matrix':
    assert zeros == [round(0.75 * n) for n in sizes]
  else:
    assert sum(zeros) == round(0.75 * sum(sizes))
    assert len(set(zeros)) > 1  # Matrices end at different sparsities.
  for kernel, mask in zip(masks.kernels, masks.masks):
    assert np.all(kernel.numpy()[mask.numpy() == 0] == 0)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_pruned_weights_and_adam_moments_stay_zero_under_large_gradients():
  task = tiny_task(target_sparsity=0.5, end_step=1, frequency=1)
  model = task.build_model()
  optimizer = adamw(1.0)  # Huge steps: any leak through Adam would show.
  step = tf.function(lambda x: task.train_step(x, model, optimizer))
  step(batch(seed=0))  # Masks computed after this update (step 1).
  masks = model.pruning_masks
  before = [m.numpy().copy() for m in masks.masks]
  for i in range(1, 11):  # Off-schedule steps: only gradients are masked.
    step(batch(seed=i))
  for kernel, mask, old in zip(masks.kernels, masks.masks, before):
    np.testing.assert_array_equal(mask.numpy(), old)  # Fixed after t1.
    pruned = old == 0
    assert 0.45 < pruned.mean() < 0.55
    assert np.all(kernel.numpy()[pruned] == 0)
    assert np.any(kernel.numpy()[~pruned] != 0)
    for name in ('m', 'v'):
      slot = optimizer.get_slot(kernel, name).numpy()
      assert np.all(slot[pruned] == 0), name
      assert np.any(slot[~pruned] != 0), name


def test_masked_gradients_alone_keep_zero_moments_from_moving_weights():
  """With its moments zeroed, Adam cannot move a weight whose grad is 0."""
  task = tiny_task(target_sparsity=0.5, end_step=1, frequency=1)
  model = task.build_model()
  optimizer = adamw(1.0)
  task.train_step(batch(), model, optimizer)
  masks = model.pruning_masks
  kernel, mask = masks.kernels[0], masks.masks[0]
  pruned = mask.numpy() == 0
  grads = [(tf.ones_like(v) * 100.0, v) for v in model.trainable_variables]
  optimizer.apply_gradients(masks.mask_gradients(grads))  # No re-masking.
  assert np.all(kernel.numpy()[pruned] == 0)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_kernels_and_moments_are_remasked_only_on_update_steps():
  # Mask updates after steps 2 and 4 (optimizer iterations), not after 3.
  task = tiny_task(target_sparsity=0.5, end_step=4, frequency=2)
  model = task.build_model()
  optimizer = adamw(0.01)
  step = tf.function(lambda x: task.train_step(x, model, optimizer))
  for i in range(2):
    step(batch(seed=i))
  masks = model.pruning_masks
  kernel, mask = masks.kernels[0], masks.masks[0]
  where = tuple(np.argwhere(mask.numpy() == 0)[0])
  m = optimizer.get_slot(kernel, 'm')
  for variable in (kernel, m):  # Revive one pruned weight and its moment.
    variable.assign(tf.tensor_scatter_nd_update(variable, [where], [5.0]))
  step(batch(seed=2))  # Step 3: no re-masking, so both stay nonzero.
  assert kernel.numpy()[where] != 0 and m.numpy()[where] != 0
  step(batch(seed=3))  # Step 4: masks recomputed and applied again.
  assert kernel.numpy()[where] == 0 and m.numpy()[where] == 0
  assert mask.numpy()[where] == 0


def test_optimizer_slots_fail_loudly_when_a_kernel_has_none():
  task = tiny_task(target_sparsity=0.5, end_step=1, frequency=1)
  model = task.build_model()
  kernel = model.pruning_masks.kernels[0]
  stranger = tf.Variable(tf.ones([2, 2]), name='not_in_the_model')
  legacy = adamw(0.01)  # tfm's AdamWeightDecay (legacy Keras optimizer).
  assert not pruning.optimizer_slots(legacy, kernel)  # No slots yet.
  task.train_step(batch(), model, legacy)
  assert len(pruning.optimizer_slots(legacy, kernel)) == 2
  with pytest.raises(ValueError, match='not_in_the_model'):
    pruning.optimizer_slots(legacy, stranger)
  adam = tf_keras.optimizers.Adam(0.01)  # New-style Keras optimizer.
  assert not pruning.optimizer_slots(adam, kernel)
  adam.apply_gradients([(tf.ones_like(kernel), kernel)])
  assert [s.shape for s in pruning.optimizer_slots(adam, kernel)] == [
      kernel.shape] * 2
  with pytest.raises(ValueError, match='not_in_the_model'):
    pruning.optimizer_slots(adam, stranger)
  sgd = tf_keras.optimizers.SGD(0.01, momentum=0.9)
  sgd.apply_gradients([(tf.ones_like(kernel), kernel)])
  assert len(pruning.optimizer_slots(sgd, kernel)) == 1  # Its momentum.


# Traces a train step with a second optimizer (~6 CPU-s): CI only.
@pytest.mark.slow
def test_new_style_adamw_keeps_pruned_weights_and_moments_zero():
  task = tiny_task(target_sparsity=0.5, end_step=1, frequency=1)
  model = task.build_model()
  optimizer = tf_keras.optimizers.AdamW(1.0, weight_decay=0.01)
  step = tf.function(lambda x: task.train_step(x, model, optimizer))
  for i in range(6):
    step(batch(seed=i))
  masks = model.pruning_masks
  for kernel, mask in zip(masks.kernels, masks.masks):
    pruned = mask.numpy() == 0
    assert 0.45 < pruned.mean() < 0.55
    assert np.all(kernel.numpy()[pruned] == 0)
    slots = pruning.optimizer_slots(optimizer, kernel)
    assert len(slots) == 2
    for slot in slots:
      assert np.all(slot.numpy()[pruned] == 0)
      assert np.any(slot.numpy()[~pruned] != 0)


# A MirroredStrategy train step (~9 CPU-s): CI only;
# tests/layers/test_token_importance.py keeps a mirrored test in the fast tier.
@pytest.mark.slow
def test_mirrored_strategy_masks_identical_on_both_replicas():
  strategy = distribute.two_cpu_mirrored_strategy()
  task = tiny_task(target_sparsity=0.6, end_step=3, frequency=1)
  with strategy.scope():
    model = task.build_model()
    optimizer = adamw(0.1)
  data = [batch(size=4, seed=i) for i in range(4)]
  dataset = strategy.experimental_distribute_dataset(
      tf.data.Dataset.from_tensor_slices(
          {k: tf.stack([d[k] for d in data]) for k in data[0]}).unbatch()
      .batch(4))

  @tf.function
  def step(x):
    strategy.run(task.train_step, args=(x, model, optimizer))

  for x in dataset:
    step(x)
  assert int(optimizer.iterations.numpy()) == 4
  for kernel, mask in zip(model.pruning_masks.kernels,
                          model.pruning_masks.masks):
    first, second = [v.numpy() for v in mask.values]
    np.testing.assert_array_equal(first, second)
    assert int(np.sum(first == 0)) == round(0.6 * first.size)
    for value in kernel.values:
      assert np.all(value.numpy()[first == 0] == 0)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_masks_are_saved_and_restored_with_the_model(tmp_path):
  task = tiny_task(target_sparsity=0.5, end_step=1, frequency=1)
  model = task.build_model()
  task.train_step(batch(), model, adamw(1e-2))
  path = tf.train.Checkpoint(model=model).save(str(tmp_path / 'ckpt'))
  restored = tiny_task().build_model()
  tf.train.Checkpoint(model=restored).read(path).assert_existing_objects_matched()
  for a, b in zip(model.pruning_masks.masks, restored.pruning_masks.masks):
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_masked_lm_task_is_pruned_through_its_own_train_step():
  from official.nlp.configs import bert  # pylint: disable=g-import-not-at-top
  from token_drop.data import pretrain_dataloader  # pylint: disable=g-import-not-at-top
  config = pruning_tasks.PrunedMaskedLMConfig(
      train_data=pretrain_dataloader.PretrainDataConfig(
          use_next_sentence_label=False),
      model=bert.PretrainerConfig(
          encoder=encoders.EncoderConfig(
              type='bert', bert=encoders.BertEncoderConfig(
                  vocab_size=40, hidden_size=16, num_layers=2,
                  num_attention_heads=2, intermediate_size=32,
                  max_position_embeddings=16)), cls_heads=[]))
  config.pruning.override(dict(target_sparsity=0.5, end_step=2, frequency=1))
  task = pruning_tasks.PrunedMaskedLMTask(config)
  model = task.build_model()
  optimizer = adamw(1e-2)
  metrics = task.build_metrics(training=True)
  x = batch()
  x.pop('label_ids')
  x.update(masked_lm_positions=tf.constant([[1, 2]] * 4),
           masked_lm_ids=tf.constant([[3, 4]] * 4),
           masked_lm_weights=tf.ones([4, 2]))
  for _ in range(3):
    logs = task.train_step(x, model, optimizer, metrics)
  assert np.isfinite(float(logs[task.loss]))
  masks = model.pruning_masks
  assert len(masks.masks) == 12
  for kernel, mask in zip(masks.kernels, masks.masks):
    assert np.mean(mask.numpy() == 0) == pytest.approx(0.5)
    assert np.all(kernel.numpy()[mask.numpy() == 0] == 0)


def _float16_step(task, model, optimizer):
  metrics = task.build_metrics(training=True)
  return tf.function(lambda x: task.train_step(x, model, optimizer, metrics))


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_pruning_sees_through_a_loss_scale_optimizer_in_mixed_float16():
  """tfm's float16 optimizer, a LossScaleOptimizer: masks, slots, re-masking."""
  tf_keras.mixed_precision.set_global_policy('mixed_float16')
  try:
    task = tiny_task(target_sparsity=0.5, end_step=2, frequency=1)
    model = task.build_model()
    optimizer = performance.configure_optimizer(adamw(1e-2), use_float16=True)
    assert isinstance(optimizer, tf_keras.mixed_precision.LossScaleOptimizer)
    step = _float16_step(task, model, optimizer)
    losses = [float(step(batch(seed=i))[task.loss]) for i in range(4)]
  finally:
    tf_keras.mixed_precision.set_global_policy('float32')
  assert np.all(np.isfinite(losses)), losses
  assert int(optimizer.iterations) == 4
  inner = optimizer.inner_optimizer
  masks = model.pruning_masks
  for kernel, mask in zip(masks.kernels, masks.masks):
    assert kernel.dtype == tf.float32
    pruned = mask.numpy() == 0
    assert pruned.mean() == pytest.approx(0.5, abs=0.02)
    assert np.all(kernel.numpy()[pruned] == 0)
    for name in ('m', 'v'):  # The inner AdamW's moments.
      slot = inner.get_slot(kernel, name).numpy()
      assert np.all(slot[pruned] == 0), name
      assert np.any(slot[~pruned] != 0), name
  # Slots are found through any number of wrappers.
  wrapped = pruning_tasks.MaskingOptimizer(optimizer, masks)
  assert [s.ref() for s in pruning.optimizer_slots(wrapped, kernel)] == [
      inner.get_slot(kernel, name).ref() for name in ('m', 'v')]


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_pruning_keeps_the_loss_scaling_of_a_loss_scale_optimizer():
  """Through the masking wrapper the loss is still scaled: an overflowing
  scale makes the float16 gradients infinite, so the update is skipped and
  the scale halved (an unscaled loss would have updated and kept it)."""
  tf_keras.mixed_precision.set_global_policy('mixed_float16')
  try:
    task = tiny_task(target_sparsity=0.5, end_step=5, frequency=5)
    model = task.build_model()
    optimizer = tf_keras.mixed_precision.LossScaleOptimizer(
        adamw(1e-2), initial_scale=2.0**40)
    embeddings = model.trainable_variables[0]
    before = embeddings.numpy().copy()
    _float16_step(task, model, optimizer)(batch())
  finally:
    tf_keras.mixed_precision.set_global_policy('float32')
  assert float(optimizer.loss_scale) == 2.0**39
  np.testing.assert_array_equal(embeddings.numpy(), before)


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_loop_logs_report_scheduled_and_achieved_sparsity():
  """What tfm's trainer hands to TensorBoard and orbit's console line."""
  # Registers the experiments with exp_factory.
  # pylint: disable=g-import-not-at-top,unused-import
  import experiments  # noqa: F401
  # pylint: enable=g-import-not-at-top,unused-import
  from official.core import exp_factory  # pylint: disable=g-import-not-at-top
  from token_drop.core import trainer as trainer_lib  # pylint: disable=g-import-not-at-top
  task = tiny_task(target_sparsity=0.5, end_step=2, frequency=1)
  config = exp_factory.get_exp_config('pruning/sentence_prediction')
  config.task = task.task_config
  model = task.build_model()
  trainer = trainer_lib.Trainer(
      config, task, model=model, optimizer=adamw(1e-2), train=True,
      evaluate=False,
      train_dataset=tf.data.Dataset.from_tensors(batch()).repeat())
  # Step 1, on the cubic ramp: s_1 = 0.5 - 0.5 (1 - 1/2)^3 = 0.4375 (per
  # matrix of 16x16 or 16x32 weights, 0.4375 n is a whole number).
  logs = trainer.train(tf.constant(1))
  assert float(logs['pruning_scheduled_sparsity']) == pytest.approx(0.4375)
  assert float(logs['pruning_achieved_sparsity']) == pytest.approx(
      0.4375, abs=1e-6)
  # Past end_step: the target; the loop reports its last step, not a mean.
  logs = trainer.train(tf.constant(3))
  assert float(logs['pruning_scheduled_sparsity']) == pytest.approx(0.5)
  assert float(logs['pruning_achieved_sparsity']) == pytest.approx(
      0.5, abs=1e-6)
  assert 'pruning_achieved_sparsity' not in {
      m.name for m in task.build_metrics(training=False)}
