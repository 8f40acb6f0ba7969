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

"""tfm's BERT experiments, extended: `bert/pretraining` and fine-tuning.

`bert/pretraining` (the baseline every pretraining method is compared with),
`bert/sentence_prediction` and `bert/tagging` keep their tfm names and
defaults, and take this package's extended configs (`common.extend`): a
`trainer.time_budget`, a `runtime.seed`, and pretraining data that also reads
text (`input_format`, `vocab_file`, ...). Each is registered in place of tfm's
factory, which it wraps; tfm's other experiments are left as tfm registers
them.

A `params.yaml` of these experiments holds the extended keys, so tfm's own
driver (which does not import `experiments`) cannot read it back; this
package's `train.py` can.
"""

from official.core import config_definitions as cfg
# Registers tfm's experiments, which the ones below replace.
from official.nlp.configs import finetuning_experiments  # noqa: F401  # pylint: disable=unused-import
from official.nlp.configs import pretraining_experiments  # noqa: F401  # pylint: disable=unused-import
from experiments import common
from token_drop import compat

# The tfm experiments train.py supports with the extended configs.
EXTENDED = ('bert/pretraining', 'bert/sentence_prediction', 'bert/tagging')


def register_extended(name: str) -> None:
  """Registers tfm's experiment `name` again, with the extended configs.

  The new factory calls tfm's and passes its config through
  `common.extend`. tfm has no public way to replace a registration
  (`compat.replace_config_factory` says why).

  Args:
    name: A registered tfm experiment name, e.g. `bert/pretraining`.
  """
  def factory() -> cfg.ExperimentConfig:
    return common.extend(tfm_factory())

  tfm_factory = compat.replace_config_factory(name, factory)
  factory.__doc__ = f'`{name}` of tfm with the extended configs.'


for _name in EXTENDED:
  register_extended(_name)
