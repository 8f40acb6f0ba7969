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

"""sparse_bert/sentence_prediction via train.py, then the report, fold tools."""

import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors import numpy as safetensors_numpy
import tensorflow as tf
import yaml

# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from official.core import exp_factory
from official.modeling.hyperparams import params_dict
from token_drop.models import layer_output_classifier
from token_drop.testing import train_utils as tu
from token_drop.tools import bert_weights
from token_drop.tools import export_hf
from token_drop.tools import fold_masks
from token_drop.tools import sparsity_report

DEMO = os.path.join('configs', 'demo', 'sparse_bert_sentence_prediction.yaml')


def override(cache_dir, steps=4):
  items = []
  for who, layers in (('model', 2), ('teacher.model', 4)):
    e = f'task.{who}.encoder.bert'
    items += [f'{e}.hidden_size=32', f'{e}.num_layers={layers}',
              f'{e}.num_attention_heads=2', f'{e}.intermediate_size=64']
  items += [f'trainer.train_steps={steps}', 'trainer.steps_per_loop=2',
            'trainer.summary_interval=2',
            f'trainer.checkpoint_interval={steps}',
            f'trainer.validation_interval={steps}',
            'trainer.validation_steps=2',
            f'trainer.optimizer_config.learning_rate.polynomial.decay_steps='
            f'{steps}', 'trainer.optimizer_config.warmup.polynomial.'
            'warmup_steps=1', f'task.pruning.end_step={steps}',
            'task.pruning.frequency=1']
  for data in ('train_data', 'validation_data'):
    items += [f'task.{data}.global_batch_size=4', f'task.{data}.seq_length=32',
              f'task.{data}.cache_dir={cache_dir}']
  return ','.join(items)


def restore_masked(target, checkpoint, **items):
  """Restores `target` (as `items`) and multiplies its kernels by the masks."""
  tf.train.Checkpoint(**items).read(checkpoint).expect_partial()
  masks = sparsity_report.read_masks(checkpoint)
  for var in target.weights:
    name = var.name.split(':')[0]
    if name in masks:
      var.assign(var.numpy() * masks[name])


@pytest.fixture(scope='module')
def run(tmp_path_factory):
  root = tmp_path_factory.mktemp('sparse_bert_e2e')
  model_dir = str(root / 'run')
  result = tu.run_train(model_dir, experiment='sparse_bert/sentence_prediction',
                        config_files=(DEMO,),
                        override=override(str(root / 'cache')))
  assert result.returncode == 0, result.stderr[-3000:]
  return dict(root=root, model_dir=model_dir, result=result)


@pytest.mark.slow
def test_train_py_prunes_and_distills(run):
  stdout = run['result'].stdout
  # A warning (stderr), shown at the default verbosity.
  assert 'distilling from an UNTRAINED teacher' in run['result'].stderr
  train = [l for l in stdout.splitlines() if l.startswith('final train')]
  assert train and all(k in train[-1] for k in (
      'hidden_mse=', 'attention_mse=', 'logits_kd=', 'cls_accuracy='))
  assert any(l.startswith('final validation metrics:') and 'cls_accuracy='
             in l for l in stdout.splitlines())


@pytest.mark.slow
def test_sparsity_report_shows_target_per_matrix(run):
  result = sparsity_report.report(run['model_dir'])
  assert len(result['matrices']) == 12  # 6 kernels x 2 student layers.
  for row in result['matrices'].values():
    assert row['mask_sparsity'] == pytest.approx(
        round(0.9 * row['size']) / row['size'])
  assert 0.0 < result['overall_sparsity'] < result['pruned_sparsity']
  cli = subprocess.run(
      [sys.executable, '-m', 'token_drop.tools.sparsity_report',
       f'--checkpoint={run["model_dir"]}'], cwd=tu.REPO_ROOT,
      capture_output=True, text=True, check=False, timeout=300)
  assert cli.returncode == 0, cli.stderr[-2000:]
  assert 'transformer/layer_1/intermediate/kernel' in cli.stdout
  assert 'pruned kernels: 12 matrices' in cli.stdout


@pytest.mark.slow
def test_folded_encoder_computes_the_masked_model(run):
  out = str(run['root'] / 'folded')
  summary = fold_masks.fold_masks(run['model_dir'], out)
  assert summary['sparsity'] == pytest.approx(0.9, abs=1e-3)
  storage = summary['storage']
  assert storage['sparse_bytes'] < storage['dense_bytes']
  # 10% of the values + a 1-bit map: about 0.1 + 1/32 of the dense size.
  assert storage['pruned_sparse_bytes'] < 0.14 * storage['pruned_dense_bytes']
  assert storage['pruned_gzip_bytes'] < 0.5 * storage['pruned_dense_bytes']
  config = export_hf.load_encoder_config(
      os.path.join(run['model_dir'], 'params.yaml'))
  latest = tf.train.latest_checkpoint(run['model_dir'])
  # The masked model: the trained encoder with kernel * mask applied here.
  masked = bert_weights.build_encoder(config)
  restore_masked(masked, latest, encoder=masked)
  # A plain tfm BertEncoderV2 reading the folded checkpoint.
  plain = bert_weights.build_encoder(config)
  tf.train.Checkpoint(encoder=plain).read(
      tf.train.latest_checkpoint(out)).assert_existing_objects_matched()
  rng = np.random.default_rng(0)
  ids = tf.constant(rng.integers(1, 30522, (2, 16)), tf.int32)
  inputs = dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
                input_type_ids=tf.zeros_like(ids))
  np.testing.assert_allclose(plain(inputs)['sequence_output'].numpy(),
                             masked(inputs)['sequence_output'].numpy(),
                             atol=1e-5)
  # The Hugging Face export holds the zeros.
  hf_dir = str(run['root'] / 'hf')
  export_hf.export_checkpoint(out, hf_dir)
  tensors = safetensors_numpy.load_file(os.path.join(hf_dir,
                                                     'model.safetensors'))
  (name,) = [n for n in tensors
             if n.endswith('layer.0.intermediate.dense.weight')]
  assert np.mean(tensors[name] == 0) == pytest.approx(0.9, abs=1e-3)


@pytest.mark.slow
def test_folded_classifier_saved_model_computes_the_masked_model(run):
  saved = str(run['root'] / 'saved_model')
  cli = subprocess.run(
      [sys.executable, '-m', 'token_drop.tools.fold_masks',
       f'--checkpoint={run["model_dir"]}',
       f'--output_dir={run["root"] / "folded_cli"}',
       f'--saved_model_dir={saved}'], cwd=tu.REPO_ROOT,
      capture_output=True, text=True, check=False, timeout=300)
  assert cli.returncode == 0, cli.stderr[-2000:]
  assert 'exported as a SavedModel' in cli.stdout
  latest = tf.train.latest_checkpoint(run['model_dir'])
  masks = sparsity_report.read_masks(latest)
  # The masked model, as training builds it: the student classifier with
  # kernel * mask applied here.
  model_config = fold_masks.load_classifier_config(
      os.path.join(run['model_dir'], 'params.yaml'))
  masked = layer_output_classifier.build_classifier(model_config)
  restore_masked(masked, latest, model=masked)
  rng = np.random.default_rng(1)
  ids = rng.integers(1, 30522, (3, 20)).astype(np.int32)
  mask = np.ones_like(ids)
  mask[1, 12:] = 0
  loaded = tf.saved_model.load(saved)
  outputs = loaded.signatures['serving_default'](
      input_word_ids=tf.constant(ids), input_mask=tf.constant(mask),
      input_type_ids=tf.zeros_like(ids))['outputs']
  expected = masked(dict(input_word_ids=ids, input_mask=mask,
                         input_type_ids=np.zeros_like(ids)), training=False)
  assert outputs.shape == (3, model_config.num_classes)
  np.testing.assert_allclose(outputs.numpy(), expected.numpy(), atol=1e-5)
  kernels = [v for v in loaded.model.variables
             if v.name.split(':')[0] in masks]
  assert len(kernels) == len(masks) == 12
  for var in kernels:
    assert np.mean(var.numpy() == 0) == pytest.approx(0.9, abs=1e-3)


@pytest.mark.parametrize('experiment, config_file', [
    ('sparse_bert/sentence_prediction', DEMO),
    ('sparse_bert/sentence_prediction', 'configs/sparse_bert_base.yaml'),
])
def test_configs_fit_their_experiment(experiment, config_file):
  params = exp_factory.get_exp_config(experiment)
  with open(os.path.join(tu.REPO_ROOT, config_file)) as f:
    params.override(yaml.load(f, Loader=params_dict._LOADER),  # pylint: disable=protected-access
                    is_strict=True)
  params.validate()
  params.task.pruning.check()
  assert params.task.pruning.end_step <= params.trainer.train_steps
  # The reference's distillation terms, written out in both configs.
  assert (params.task.distillation.attention_target,
          params.task.distillation.logits_loss) == ('scores',
                                                    'soft_cross_entropy')


@pytest.mark.parametrize('experiment', [
    'sparse_bert/sentence_prediction', 'pruning/sentence_prediction',
    'pruning/masked_lm'])
def test_bad_pruning_values_fail_config_validation(experiment):
  params = exp_factory.get_exp_config(experiment)
  params.validate()
  for key, value in (('target_sparsity', 1.5), ('end_step', -1),
                     ('schedule', 'linear'), ('frequency', 0)):
    params = exp_factory.get_exp_config(experiment)
    params.override({'task': {'pruning': {key: value}}}, is_strict=True)
    with pytest.raises(ValueError, match=f'task.pruning.{key}='):
      params.validate()
