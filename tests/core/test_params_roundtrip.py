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

"""A params.yaml written by train.py, stacked again, gives the same config.

train.py writes params.yaml with `model_dir.save_params`; passing it back as
the only `--config_file` of the same experiment must reproduce the run's
config exactly (the run is then the same, given the same data and seeds).
"""

import os

import pytest

# Registers the experiments with exp_factory.
import experiments  # noqa: F401  # pylint: disable=unused-import
from official.core import train_utils
from token_drop.core import config_parser
from token_drop.core import model_dir as model_dir_lib

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEMO = os.path.join(REPO_ROOT, 'configs', 'demo')


def _parse(experiment, config_files, override=''):
  return config_parser.parse_configuration(train_utils.ParseConfigOptions(
      experiment=experiment, config_file=list(config_files),
      params_override=override))


@pytest.mark.parametrize('experiment,stack,override', [
    # tfm's own experiments, registered again in experiments/ with the
    # extended trainer, runtime and data configs.
    ('bert/pretraining', ['pretrain_demo.yaml', 'tiny_bert.yaml'],
     'trainer.train_steps=7,trainer.time_budget.budget_hours=0.5,'
     'task.train_data.masking_rate=0.2'),
    ('bert/sentence_prediction', [],
     'runtime.seed=3,trainer.train_steps=10,trainer.time_budget.budget_hours=1'),
    # Tuples (token_allow_list) and an `any` encoder.
    ('token_drop_bert/pretraining',
     ['pretrain_demo.yaml', 'tiny_token_drop.yaml'], ''),
    ('narrow_bert/tagging', ['tagging_demo.yaml', 'tiny_narrow_bert.yaml'],
     'task.narrow_length=16'),
    # A teacher config and pruning.
    ('sparse_bert/sentence_prediction',
     ['sparse_bert_sentence_prediction.yaml'], ''),
    ('budget_bert/pretraining',
     ['pretrain_demo.yaml', 'budget_bert_pretraining.yaml'], ''),
])
def test_written_params_yaml_stacks_back_to_the_same_config(
    tmp_path, experiment, stack, override):
  params = _parse(experiment, [os.path.join(DEMO, f) for f in stack],
                  override)
  path = model_dir_lib.save_params(params, str(tmp_path))
  assert path == os.path.join(str(tmp_path), 'params.yaml')
  again = _parse(experiment, [path])
  assert again.as_dict() == params.as_dict()
