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

"""End-to-end: pretrain -> export to HF -> import -> fine-tune through train.py.

Tiny models, a few steps each, train.py run as a subprocess from the repo
root. One module-scoped pretraining run feeds every test.
"""

import glob
import os

import numpy as np
import pytest
from safetensors import numpy as safetensors_numpy
import tensorflow as tf
import yaml

# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from official.core import exp_factory
from official.core import task_factory
from official.modeling.hyperparams import params_dict
from token_drop.testing import train_utils as tu
from token_drop.tools import export_hf
from token_drop.tools import import_hf

ENCODER = ('task.model.encoder.bert.hidden_size=32,'
           'task.model.encoder.bert.num_layers=2,'
           'task.model.encoder.bert.num_attention_heads=2,'
           'task.model.encoder.bert.intermediate_size=64')


def finetune_override(init_checkpoint, cache_dir, steps=4):
  items = [ENCODER, f'task.init_checkpoint={init_checkpoint}',
           f'trainer.train_steps={steps}', 'trainer.steps_per_loop=2',
           'trainer.summary_interval=2', f'trainer.checkpoint_interval={steps}',
           f'trainer.validation_interval={steps}', 'trainer.validation_steps=3',
           f'trainer.optimizer_config.learning_rate.polynomial.decay_steps='
           f'{steps}', 'trainer.optimizer_config.warmup.polynomial.'
           'warmup_steps=1']
  for data in ('train_data', 'validation_data'):
    items += [f'task.{data}.global_batch_size=4', f'task.{data}.seq_length=32',
              f'task.{data}.cache_dir={cache_dir}']
  return ','.join(items)


def metrics_line(stdout, kind='validation'):
  lines = [l for l in stdout.splitlines()
           if l.startswith(f'final {kind} metrics:')]
  assert lines, stdout[-2000:]
  return dict(item.split('=') for item in lines[-1].split(': ', 1)[1].split(
      ', '))


def summary_tags(folder):
  tags = set()
  for path in glob.glob(os.path.join(folder, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      tags.update(v.tag for v in event.summary.value)
  return tags


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
  """A tiny bert/pretraining model_dir, its HF export and the re-import."""
  root = tmp_path_factory.mktemp('finetuning_e2e')
  model_dir = str(root / 'pretrain')
  result = tu.run_train(model_dir, override=tu.tiny_pretrain_override(
      train_steps=2, steps_per_loop=2))
  assert result.returncode == 0, result.stderr[-3000:]
  hf_dir, imported = str(root / 'hf'), str(root / 'imported')
  summary = export_hf.export_checkpoint(model_dir, hf_dir)
  assert summary['has_mlm_head']
  import_hf.import_checkpoint(hf_dir, imported)
  return dict(root=root, model_dir=model_dir, hf_dir=hf_dir,
              imported=imported, cache=str(root / 'cache'))


@pytest.mark.slow
def test_export_of_train_py_checkpoint_round_trips(pretrained):
  config = export_hf.load_encoder_config(
      os.path.join(pretrained['model_dir'], 'params.yaml'))
  assert (config.num_layers, config.hidden_size) == (2, 32)
  latest = tf.train.latest_checkpoint(pretrained['model_dir'])
  original = tf.train.load_checkpoint(latest)
  # The word embedding table is the one [vocab, hidden] variable (its key
  # depends on the object path the trainer saved it under).
  (table_key,) = [n for n, shape in tf.train.list_variables(latest)
                  if shape == [30522, 32] and 'OPTIMIZER_SLOT' not in n]
  encoder, masked_lm = export_hf.restore(
      export_hf.resolve_checkpoint(pretrained['imported']), config)
  assert masked_lm is not None
  # The word embeddings after train.py -> HF -> tfm are the trained ones.
  trained = original.get_tensor(table_key)
  np.testing.assert_array_equal(encoder.get_embedding_table().numpy(),
                                trained)
  assert not np.allclose(trained, 0)


@pytest.mark.slow
def test_imported_checkpoint_initializes_masked_lm_task(pretrained):
  """tfm's masked_lm task.initialize restores encoder and MLM head."""
  params = exp_factory.get_exp_config('bert/pretraining')
  params.override({'task': {
      'init_checkpoint': pretrained['imported'],
      'model': {'encoder': {'type': 'bert', 'bert': {
          'hidden_size': 32, 'num_layers': 2, 'num_attention_heads': 2,
          'intermediate_size': 64}}}}}, is_strict=False)
  # The import holds BERT's NSP pooler (hidden x hidden) for this head.
  params.task.model.cls_heads[0].inner_dim = 32
  task = task_factory.get_task(params.task)
  model = task.build_model()
  positions = tf.zeros((1, 2), tf.int32)
  ids = tf.ones((1, 8), tf.int32)
  model(dict(input_word_ids=ids, input_mask=ids, input_type_ids=ids * 0,
             masked_lm_positions=positions))
  task.initialize(model)
  source = tf.train.load_checkpoint(
      tf.train.latest_checkpoint(pretrained['model_dir']))
  bias = [n for n, _ in tf.train.list_variables(pretrained['model_dir'])
          if n.startswith('masked_lm/output_bias') and
          'OPTIMIZER_SLOT' not in n]
  assert len(bias) == 1, bias
  np.testing.assert_array_equal(model.masked_lm.bias.numpy(),
                                source.get_tensor(bias[0]))
  head = model.checkpoint_items['next_sentence.pooler_dense']
  np.testing.assert_array_equal(
      head.kernel.numpy(), model.encoder_network.pooler_layer.kernel.numpy())


@pytest.mark.slow
def test_sentence_prediction_from_imported_checkpoint_then_eval(pretrained):
  model_dir = str(pretrained['root'] / 'sentence_prediction')
  configs = (os.path.join('configs', 'demo', 'sentence_prediction_demo.yaml'),
             tu.TINY_BERT)
  override = finetune_override(pretrained['imported'], pretrained['cache'])
  result = tu.run_train(model_dir, experiment='finetuning/sentence_prediction',
                        config_files=configs, override=override,
                        flags=('--verbosity=0',))  # INFO: checkpoint loaded.
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Finished loading pretrained checkpoint' in result.stderr
  metrics = metrics_line(result.stdout)
  assert 0.0 <= float(metrics['cls_accuracy']) <= 1.0
  assert 'cls_accuracy' in summary_tags(os.path.join(model_dir, 'validation'))

  result = tu.run_train(model_dir, experiment='finetuning/sentence_prediction',
                        config_files=configs, override=override, mode='eval')
  assert result.returncode == 0, result.stderr[-3000:]
  again = metrics_line(result.stdout)
  # Same checkpoint, same first 3 validation batches: same accuracy.
  assert again['cls_accuracy'] == metrics['cls_accuracy']


@pytest.mark.slow
def test_tagging_from_train_py_checkpoint_reports_f1(pretrained):
  model_dir = str(pretrained['root'] / 'tagging')
  result = tu.run_train(
      model_dir, experiment='finetuning/tagging',
      config_files=(os.path.join('configs', 'demo', 'tagging_demo.yaml'),
                    tu.TINY_BERT),
      override=finetune_override(pretrained['model_dir'],
                                 pretrained['cache']),
      flags=('--verbosity=0',))  # INFO logs: the checkpoint loaded.
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Finished loading pretrained checkpoint' in result.stderr
  metrics = metrics_line(result.stdout)
  assert {'f1', 'precision', 'recall', 'accuracy'} <= set(metrics)
  assert 'f1' in summary_tags(os.path.join(model_dir, 'validation'))


@pytest.mark.slow
def test_bad_source_path_fails_before_training(pretrained, tmp_path):
  result = tu.run_train(
      str(tmp_path / 'bad'), experiment='finetuning/sentence_prediction',
      config_files=(os.path.join('configs', 'demo',
                                 'sentence_prediction_demo.yaml'),
                    tu.TINY_BERT),
      override=finetune_override('', pretrained['cache']) +
      ',task.train_data.source_path=data/classification/missing.tsv')
  assert result.returncode != 0
  assert "'data/classification/missing.tsv' does not exist" in result.stderr


@pytest.mark.parametrize('experiment, config_file', [
    ('finetuning/sentence_prediction', 'configs/finetuning/'
     'sentence_prediction.yaml'),
    ('finetuning/tagging', 'configs/finetuning/tagging.yaml'),
    ('finetuning/sentence_prediction',
     'configs/demo/sentence_prediction_demo.yaml'),
    ('finetuning/tagging', 'configs/demo/tagging_demo.yaml'),
])
def test_finetuning_configs_fit_their_experiment(experiment, config_file):
  params = exp_factory.get_exp_config(experiment)
  with open(os.path.join(tu.REPO_ROOT, config_file)) as f:
    params.override(yaml.load(f, Loader=params_dict._LOADER),  # pylint: disable=protected-access
                    is_strict=True)
  params.validate()
  assert params.task.train_data.vocab_file.endswith('vocab.txt')


@pytest.mark.parametrize('experiment', ['finetuning/tagging',
                                        'narrow_bert/tagging'])
def test_tag_order_different_from_class_names_fails_validation(experiment):
  params = exp_factory.get_exp_config(experiment)
  with open(os.path.join(tu.REPO_ROOT, 'configs/demo/tagging_demo.yaml')) as f:
    params.override(yaml.load(f, Loader=params_dict._LOADER),  # pylint: disable=protected-access
                    is_strict=True)
  params.validate()
  tags = list(params.task.class_names)
  params.override({'task': {'validation_data': {
      'label_list': tags[1:] + tags[:1]}}})
  with pytest.raises(ValueError,
                     match=r"task.validation_data.label_list=\['B-company'"):
    params.validate()


@pytest.mark.slow
def test_export_of_token_drop_bert_checkpoint(tmp_path):
  """token_drop_bert/pretraining checkpoints hold BertEncoderV2 variables."""
  model_dir = str(tmp_path / 'token_drop')
  result = tu.run_train(
      model_dir, experiment='token_drop_bert/pretraining',
      config_files=(tu.DEMO_DATA,
                    os.path.join('configs', 'demo', 'tiny_token_drop.yaml')),
      override=tu.tiny_pretrain_override(
          train_steps=2, steps_per_loop=2, encoder='any',
          extra='task.model.encoder.any.token_keep_k=16'))
  assert result.returncode == 0, result.stderr[-3000:]
  summary = export_hf.export_checkpoint(model_dir, str(tmp_path / 'hf'))
  assert summary['has_mlm_head']
  assert summary['hf_config']['num_hidden_layers'] == 2
  latest = tf.train.latest_checkpoint(model_dir)
  (table_key,) = [n for n, shape in tf.train.list_variables(latest)
                  if shape == [30522, 32] and 'OPTIMIZER_SLOT' not in n]
  exported = safetensors_numpy.load_file(
      str(tmp_path / 'hf' / 'model.safetensors'))
  np.testing.assert_array_equal(
      exported['bert.embeddings.word_embeddings.weight'],
      tf.train.load_checkpoint(latest).get_tensor(table_key))
