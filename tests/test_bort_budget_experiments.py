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

"""train.py end to end: bort/pretraining_distillation (then fine-tuning the
student) and budget_bert/pretraining."""

import os
import re

import numpy as np
import pytest
import tensorflow as tf

# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from official.core import exp_factory
from official.core import train_utils
from official.nlp.configs import encoders
from token_drop.core import config_parser
from token_drop.encoders import pre_ln_bert
from token_drop.testing import train_utils as tu

BORT_DEMO = os.path.join('configs', 'demo',
                         'bort_pretraining_distillation.yaml')
SENTENCE_DEMO = os.path.join('configs', 'demo', 'sentence_prediction_demo.yaml')
BUDGET_DEMO = os.path.join('configs', 'demo', 'budget_bert_pretraining.yaml')


def _tiny_teacher(checkpoint):
  e = 'task.teacher.model.encoder.bert'
  return ','.join([f'{e}.hidden_size=32', f'{e}.num_layers=2',
                   f'{e}.num_attention_heads=2', f'{e}.intermediate_size=64',
                   f'task.teacher.init_checkpoint={checkpoint}'])


@pytest.mark.slow
def test_bort_distills_from_a_pretrained_teacher(tmp_path):
  teacher_dir = str(tmp_path / 'teacher')
  result = tu.run_train(teacher_dir, override=tu.tiny_pretrain_override(
      train_steps=2), mode='train')
  assert result.returncode == 0, result.stderr[-3000:]

  student_dir = str(tmp_path / 'student')
  result = tu.run_train(
      student_dir, experiment='bort/pretraining_distillation',
      config_files=(tu.DEMO_DATA, BORT_DEMO),
      override=tu.tiny_pretrain_override(extra=_tiny_teacher(teacher_dir)),
      flags=('--verbosity=0',))  # INFO logs: the teacher's restore.
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'Teacher restored from {teacher_dir}/ckpt-2' in result.stderr
  assert 'distillation_loss=' in result.stdout
  assert tf.train.latest_checkpoint(student_dir).endswith('ckpt-6')

  # The student is a plain BERT: fine-tune it with the shared experiment.
  e = 'task.model.encoder.bert'
  finetune = [f'{e}.hidden_size=32', f'{e}.num_layers=2',
              f'{e}.num_attention_heads=2', f'{e}.intermediate_size=64',
              f'task.init_checkpoint={student_dir}', 'trainer.train_steps=2',
              'trainer.steps_per_loop=2', 'trainer.summary_interval=2',
              'trainer.checkpoint_interval=2', 'trainer.validation_steps=2',
              'trainer.validation_interval=2']
  for data in ('train_data', 'validation_data'):
    finetune += [f'task.{data}.global_batch_size=4',
                 f'task.{data}.seq_length=32',
                 f'task.{data}.cache_dir={tmp_path / "cache"}']
  result = tu.run_train(
      str(tmp_path / 'finetune'), experiment='finetuning/sentence_prediction',
      config_files=(SENTENCE_DEMO,), override=','.join(finetune))
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'cls_accuracy=' in result.stdout


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_bort_parameter_counts_of_the_docstring():
  # experiments/bort.py: 55.9M encoder parameters, 31.8M of them embeddings
  # (tables + their layer norm), 23.1M in the layers, 1.0M in the pooler.
  # Independent count: 30522 + 512 + 2 table rows of 1024, one layer norm;
  # per layer 4 attention projections, 2 FFN matrices, 2 layer norms.
  h, ffn, layers = 1024, 768, 4
  embeddings = (30522 + 512 + 2) * h + 2 * h
  per_layer = 4 * (h * h + h) + (h * ffn + ffn) + (ffn * h + h) + 2 * 2 * h
  encoder = encoders.build_encoder(exp_factory.get_exp_config(
      'bort/pretraining_distillation').task.model.encoder)
  ids = tf.zeros([1, 4], tf.int32)
  encoder(dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
               input_type_ids=ids))
  count = lambda ws: sum(int(np.prod(w.shape)) for w in ws)
  total = count(encoder.weights)
  embedding_count = count(w for w in encoder.weights
                          if w.name.startswith(('word_embeddings',
                                                'position_embedding',
                                                'type_embeddings',
                                                'embeddings/')))
  assert embedding_count == embeddings
  assert total == embeddings + layers * per_layer + h * h + h
  assert abs(embedding_count - 31.8e6) < 0.05e6
  assert abs(layers * per_layer - 23.1e6) < 0.05e6
  assert abs(total - 55.9e6) < 0.05e6


def test_bort_experiment_defaults_to_borts_teacher_term():
  task = exp_factory.get_exp_config('bort/pretraining_distillation').task
  assert (task.teacher_loss, task.temperature, task.teacher_weight,
          task.mlm_weight) == ('bort_kldiv', 2.0, 0.5, 0.1)


@pytest.mark.slow
def test_budget_bert_demo_stops_at_its_budget(tmp_path):
  result = tu.run_train(
      str(tmp_path / 'run'), experiment='budget_bert/pretraining',
      config_files=(tu.DEMO_DATA, BUDGET_DEMO),
      override=tu.tiny_pretrain_override(
          train_steps=100000, encoder='any',
          extra='trainer.time_budget.budget_hours=0.0005'))
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'stopped: time budget of 0.0005 h spent' in result.stdout
  assert 'final validation metrics:' in result.stdout


def _parse_budget(experiment, config_files, override=''):
  options = train_utils.ParseConfigOptions(
      experiment=experiment,
      config_file=[os.path.join(tu.REPO_ROOT, f) for f in config_files],
      params_override=override)
  return config_parser.parse_configuration(options)


@pytest.mark.parametrize('experiment,config_files', [
    ('budget_bert/pretraining', (tu.DEMO_DATA, BUDGET_DEMO)),
    ('budget_bert/sentence_prediction',
     (SENTENCE_DEMO, os.path.join('configs', 'demo',
                                  'budget_bert_encoder.yaml'))),
    ('budget_bert/tagging', (os.path.join('configs', 'demo',
                                          'tagging_demo.yaml'),
                             os.path.join('configs', 'demo',
                                          'budget_bert_encoder.yaml'))),
])
def test_budget_bert_experiments_use_the_pre_ln_encoder(experiment,
                                                        config_files):
  params = _parse_budget(experiment, config_files)
  encoder = params.task.model.encoder.get()
  assert isinstance(encoder, pre_ln_bert.PreLNBertEncoderConfig)
  assert encoder.norm_first and encoder.final_layer_norm
  assert encoder.hidden_size == 256


@pytest.mark.parametrize('override,message', [
    # The parser refuses keys of the inactive encoder type.
    ('task.model.encoder.bert.hidden_size=32',
     'unknown config key(s) task.model.encoder.bert'),
    ('task.model.encoder.type=bert', "task.model.encoder.type='bert'"),
])
def test_budget_bert_refuses_encoder_keys_it_would_ignore(override, message):
  with pytest.raises(config_parser.ConfigError, match=re.escape(message)):
    _parse_budget('budget_bert/pretraining', (tu.DEMO_DATA, BUDGET_DEMO),
                  override)
