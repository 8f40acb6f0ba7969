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

"""narrow_bert/*: configs, train.py runs of all three experiments, SavedModel.

One tiny narrow_bert/pretraining run initialises the two fine-tuning runs
(its checkpoint is a plain BERT checkpoint); the sentence classifier is then
exported with tfm's serving module and served from raw token ids.
"""

import os

import numpy as np
import pytest
import tensorflow as tf
import yaml

# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from official.core import exp_factory
from official.core import export_base
from official.core import task_factory
from official.core import train_utils
from official.modeling.hyperparams import params_dict
from official.nlp.configs import bert
from official.nlp.configs import encoders
from official.nlp.modeling import networks
from official.nlp.serving import serving_modules
from token_drop.core import config_parser
from token_drop.encoders import narrow_bert
from token_drop.tasks import narrow_bert as narrow_tasks
from token_drop.testing import train_utils as tu

ENC = 'task.model.encoder.any'
TINY_ENCODER = [f'{ENC}.hidden_size=32', f'{ENC}.num_layers=3',
                f'{ENC}.num_attention_heads=2', f'{ENC}.intermediate_size=64',
                f'{ENC}.full_length_layers=1']
DEMO = os.path.join('configs', 'demo')
TINY_NARROW = os.path.join(DEMO, 'tiny_narrow_bert.yaml')
# The narrow fine-tuning demos: the plain demo data, then the narrow encoder.
SP_STACK = (os.path.join(DEMO, 'sentence_prediction_demo.yaml'), TINY_NARROW)
TAG_STACK = (os.path.join(DEMO, 'tagging_demo.yaml'), TINY_NARROW)


def _finetune_override(init_checkpoint, cache_dir, steps=2):
  items = TINY_ENCODER + [
      f'task.init_checkpoint={init_checkpoint}',
      f'trainer.train_steps={steps}', f'trainer.steps_per_loop={steps}',
      f'trainer.summary_interval={steps}',
      f'trainer.checkpoint_interval={steps}',
      f'trainer.validation_interval={steps}', 'trainer.validation_steps=2',
      f'trainer.optimizer_config.learning_rate.polynomial.decay_steps={steps}',
      'trainer.optimizer_config.warmup.polynomial.warmup_steps=1']
  for data in ('train_data', 'validation_data'):
    items += [f'task.{data}.global_batch_size=4', f'task.{data}.seq_length=32',
              f'task.{data}.cache_dir={cache_dir}']
  return ','.join(items)


def _metrics(stdout):
  lines = [l for l in stdout.splitlines()
           if l.startswith('final validation metrics:')]
  assert lines, stdout[-2000:]
  return dict(item.split('=') for item in lines[-1].split(': ', 1)[1].split(
      ', '))


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
  root = tmp_path_factory.mktemp('narrow_bert')
  model_dir = str(root / 'pretrain')
  override = tu.tiny_pretrain_override(
      train_steps=2, steps_per_loop=2, encoder='any',
      extra=f'{ENC}.num_layers=3,{ENC}.full_length_layers=1')
  result = tu.run_train(model_dir, experiment='narrow_bert/pretraining',
                        config_files=(tu.DEMO_DATA, TINY_NARROW),
                        override=override)
  assert result.returncode == 0, result.stderr[-3000:]
  return dict(root=root, model_dir=model_dir, stdout=result.stdout,
              cache=str(root / 'cache'))


@pytest.mark.parametrize('experiment,files', [
    ('narrow_bert/pretraining', [os.path.join(DEMO, 'pretrain_demo.yaml'),
                                 TINY_NARROW]),
    ('narrow_bert/pretraining', [os.path.join(
        'configs', 'wiki_books_pretrain_sequence_pack.yaml'),
                                 os.path.join('configs',
                                              'narrow_bert_base.yaml')]),
    ('narrow_bert/sentence_prediction', list(SP_STACK)),
    ('narrow_bert/tagging', list(TAG_STACK)),
    ('narrow_bert/sentence_prediction', [
        os.path.join('configs', 'finetuning', 'sentence_prediction.yaml'),
        os.path.join('configs', 'narrow_bert_base.yaml')]),
])
def test_configs_fit_their_experiment(experiment, files):
  params = exp_factory.get_exp_config(experiment)
  for name in files:
    with open(os.path.join(tu.REPO_ROOT, name)) as f:
      params.override(yaml.load(f, Loader=params_dict._LOADER),  # pylint: disable=protected-access
                      is_strict=True)
  params.validate()
  encoder = params.task.model.encoder.get()
  assert isinstance(encoder, narrow_bert.NarrowBertEncoderConfig)
  assert encoder.full_length_layers == 2
  assert encoder.narrow_mode == 'sparse_queries'


def test_paper_defaults():
  for name in ('narrow_bert/pretraining', 'narrow_bert/sentence_prediction',
               'narrow_bert/tagging'):
    encoder = exp_factory.get_exp_config(name).task.model.encoder.get()
    assert (encoder.num_layers, encoder.hidden_size,
            encoder.full_length_layers) == (12, 768, 2)
  data = exp_factory.get_exp_config('narrow_bert/pretraining').task.train_data
  assert (data.seq_length, data.max_predictions_per_seq) == (512, 76)


def test_wrong_encoder_type_is_reported():
  config = narrow_tasks.NarrowMaskedLMConfig(model=bert.PretrainerConfig(
      encoder=encoders.EncoderConfig(type='bert')))
  with pytest.raises(config_parser.ConfigError, match="narrow encoder.*'bert'"):
    task_factory.get_task(config)


@pytest.mark.slow
def test_pretraining_checkpoint_is_a_bert_checkpoint(pretrained):
  assert 'masked_lm_accuracy' in pretrained['stdout']
  bert = networks.BertEncoderV2(vocab_size=30522, hidden_size=32,
                                num_layers=3, num_attention_heads=2,
                                inner_dim=64, type_vocab_size=2,
                                max_sequence_length=512)
  ids = tf.ones((1, 8), tf.int32)
  bert(dict(input_word_ids=ids, input_mask=ids, input_type_ids=ids * 0))
  latest = tf.train.latest_checkpoint(pretrained['model_dir'])
  status = tf.train.Checkpoint(model=tf.train.Checkpoint(
      encoder_network=bert)).read(latest)
  status.assert_existing_objects_matched().expect_partial()
  table = [n for n, shape in tf.train.list_variables(latest)
           if shape == [30522, 32] and 'OPTIMIZER_SLOT' not in n]
  assert len(table) == 1
  np.testing.assert_array_equal(
      bert.get_embedding_table().numpy(),
      tf.train.load_checkpoint(latest).get_tensor(table[0]))


@pytest.mark.slow
def test_sentence_prediction_trains_and_serves_raw_ids(pretrained):
  model_dir = str(pretrained['root'] / 'sentence_prediction')
  override = _finetune_override(pretrained['model_dir'], pretrained['cache'])
  result = tu.run_train(model_dir, experiment='narrow_bert/sentence_prediction',
                        config_files=SP_STACK, override=override,
                        flags=('--verbosity=0',))  # INFO: checkpoint loaded.
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Finished loading pretrained checkpoint' in result.stderr
  assert 0.0 <= float(_metrics(result.stdout)['cls_accuracy']) <= 1.0

  # Export with tfm's serving module and serve token ids.
  options = train_utils.ParseConfigOptions(
      experiment='narrow_bert/sentence_prediction',
      config_file=[os.path.join(tu.REPO_ROOT, f) for f in SP_STACK],
      params_override=override)
  params = config_parser.parse_configuration(options)
  task = task_factory.get_task(params.task)
  model = task.build_model()
  module = serving_modules.SentencePrediction(
      serving_modules.SentencePrediction.Params(inputs_only=False,
                                               parse_sequence_length=16),
      model=model)
  export_dir = export_base.export(
      module, ['serve'], str(pretrained['root'] / 'export'),
      checkpoint_path=model_dir, timestamped=False)
  serve = tf.saved_model.load(export_dir).signatures['serving_default']
  ids = np.array([[101, 2023, 2001, 2204, 102, 0, 0, 0],
                  [101, 6659, 102, 0, 0, 0, 0, 0]], np.int32)
  mask = (ids > 0).astype(np.int32)
  served = serve(input_word_ids=tf.constant(ids),
                 input_mask=tf.constant(mask),
                 input_type_ids=tf.zeros_like(ids))['outputs'].numpy()
  want = model(dict(input_word_ids=ids, input_mask=mask,
                    input_type_ids=np.zeros_like(ids)), training=False)
  assert served.shape == (2, 2)
  np.testing.assert_allclose(served, want, atol=1e-5)


@pytest.mark.slow
def test_tagging_trains_and_reports_seqeval(pretrained):
  model_dir = str(pretrained['root'] / 'tagging')
  result = tu.run_train(
      model_dir, experiment='narrow_bert/tagging', config_files=TAG_STACK,
      override=_finetune_override(pretrained['model_dir'],
                                  pretrained['cache']),
      flags=('--verbosity=0',))  # INFO logs: the checkpoint loaded.
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Finished loading pretrained checkpoint' in result.stderr
  assert {'f1', 'precision', 'recall', 'accuracy'} <= set(
      _metrics(result.stdout))
