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

"""Experiment registrations: `import experiments` registers them all.

tfm's NLP experiments are registered by importing their config modules;
`tfm_bert` registers again, with this package's extended trainer, runtime and
data configs (`common.extend`), the ones `train.py` supports:
`bert/pretraining` (the baseline every method is compared with),
`bert/sentence_prediction` and `bert/tagging`. Each other module registers one
method family, built on the extended configs.
"""

# pylint: disable=unused-import
from official.nlp.configs import finetuning_experiments  # noqa: F401
from official.nlp.configs import pretraining_experiments  # noqa: F401
from token_drop.data import pretrain_dataloader  # noqa: F401
from experiments import tfm_bert  # noqa: F401
from experiments import bort  # noqa: F401
from experiments import budget_bert  # noqa: F401
from experiments import token_drop_bert  # noqa: F401
from experiments import finetuning  # noqa: F401
from experiments import narrow_bert  # noqa: F401
from experiments import sparse_bert  # noqa: F401
# pylint: enable=unused-import
