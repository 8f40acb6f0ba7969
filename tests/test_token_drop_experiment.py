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

"""token_drop_bert/pretraining: paper defaults, YAML stacks, train.py runs."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from official.core import train_utils
# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from token_drop.core import config_parser
from token_drop.core import preflight
from token_drop.data import pretrain_dataloader
from token_drop.encoders import token_drop_bert
from token_drop.testing import train_utils as tu

EXPERIMENT = 'token_drop_bert/pretraining'
BASE = os.path.join('configs', 'bert_en_uncased_base_token_drop.yaml')
NSP = os.path.join('configs', 'wiki_books_pretrain.yaml')
PACKED = os.path.join('configs', 'wiki_books_pretrain_sequence_pack.yaml')
TINY = os.path.join('configs', 'demo', 'tiny_token_drop.yaml')
ENC = 'task.model.encoder.any'


def _parse(config_files, override=''):
  options = train_utils.ParseConfigOptions(
      experiment=EXPERIMENT,
      config_file=[os.path.join(tu.REPO_ROOT, f) for f in config_files],
      params_override=override)
  return config_parser.parse_configuration(options)


def test_paper_defaults_with_upstream_yaml_stack():
  params = _parse([PACKED, BASE])
  encoder = preflight.encoder_config(params)
  assert isinstance(encoder, token_drop_bert.TokenDropBertEncoderConfig)
  assert (encoder.num_layers, encoder.hidden_size, encoder.token_keep_k) == (
      12, 768, 256)
  assert tuple(encoder.token_allow_list) == (100, 101, 102, 103)
  assert tuple(encoder.token_deny_list) == (0,)
  assert (encoder.token_loss_init_value, encoder.token_loss_beta) == (10.0,
                                                                      0.995)
  for data in (params.task.train_data, params.task.validation_data):
    assert isinstance(data, pretrain_dataloader.PretrainDataConfig)
    assert data.seq_length == 512 and data.use_v2_feature_names
    assert not data.use_next_sentence_label
  assert params.task.model.cls_heads == []
  opt = params.trainer.optimizer_config
  assert opt.optimizer.type == 'adamw'
  assert opt.learning_rate.polynomial.initial_learning_rate == 1e-4
  assert opt.learning_rate.polynomial.decay_steps == 1_000_000
  assert opt.warmup.polynomial.warmup_steps == 10_000
  assert params.trainer.train_steps == 1_000_000
  nsp = _parse([NSP, BASE])
  assert nsp.task.train_data.use_next_sentence_label
  assert not nsp.task.train_data.use_v2_feature_names
  assert nsp.task.model.cls_heads[0].name == 'next_sentence'
  # The experiment alone (no YAML) has the same defaults.
  bare = _parse([])
  assert preflight.encoder_config(bare).token_keep_k == 256
  assert bare.task.train_data.seq_length == 512


def _write_tfrecords(path, v2, nsp, n=16, seq=32, preds=5, vocab=30522):
  rng = np.random.RandomState(0)
  ints = lambda v: tf.train.Feature(int64_list=tf.train.Int64List(value=v))
  floats = lambda v: tf.train.Feature(float_list=tf.train.FloatList(value=v))
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(n):
      ids = rng.randint(999, vocab, size=seq)
      ids[0], ids[-1] = 101, 102
      positions = np.sort(rng.choice(np.arange(1, seq - 1), preds, False))
      feature = {
          'input_word_ids' if v2 else 'input_ids': ints(ids),
          'input_mask': ints(np.ones(seq, np.int64)),
          'input_type_ids' if v2 else 'segment_ids': ints(np.zeros(seq,
                                                                  np.int64)),
          'masked_lm_positions': ints(positions),
          'masked_lm_ids': ints(ids[positions]),
          'masked_lm_weights': floats(np.ones(preds)),
      }
      if nsp:
        feature['next_sentence_labels'] = ints([rng.randint(2)])
      writer.write(tf.train.Example(features=tf.train.Features(
          feature=feature)).SerializeToString())


def _event_tags(directory):
  tags = set()
  for path in glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      tags.update(value.tag for value in event.summary.value)
  return tags


def _override(extra=()):
  items = [tu.tiny_pretrain_override(train_steps=2, steps_per_loop=2,
                                     encoder='any'),
           f'{ENC}.token_keep_k=16', 'trainer.validation_steps=1']
  return ','.join(items + list(extra))


@pytest.mark.slow
def test_demo_stack_trains_with_token_drop_summaries(tmp_path):
  model_dir = str(tmp_path / 'run')
  result = tu.run_train(model_dir, experiment=EXPERIMENT,
                        config_files=(tu.DEMO_DATA, TINY),
                        override=_override())
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'final validation metrics:' in result.stdout
  tags = _event_tags(os.path.join(model_dir, 'train'))
  assert {'token_drop_kept_fraction', 'token_importance_kept_mean',
          'token_importance_dropped_mean', 'token_importance_table_p50',
          'token_importance_table_p90'} <= tags, tags
  assert 'token_drop_kept_fraction' not in _event_tags(
      os.path.join(model_dir, 'validation'))
  variables = dict(tf.train.list_variables(tf.train.latest_checkpoint(
      model_dir)))
  assert variables['model/token_importance/importance/.ATTRIBUTES/'
                   'VARIABLE_VALUE'] == [30522]


@pytest.mark.slow
@pytest.mark.parametrize('data_config,v2,nsp', [(NSP, False, True),
                                                (PACKED, True, False)])
def test_wiki_books_stacks_train(tmp_path, data_config, v2, nsp):
  records = str(tmp_path / 'data.tfrecord')
  _write_tfrecords(records, v2=v2, nsp=nsp)
  extra = [f'task.{d}.input_path={records}'
           for d in ('train_data', 'validation_data')]
  model_dir = str(tmp_path / 'run')
  result = tu.run_train(model_dir, experiment=EXPERIMENT,
                        config_files=(data_config, BASE),
                        override=_override(extra))
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'final validation metrics:' in result.stdout
  assert ('next_sentence_loss' in result.stdout) == nsp
