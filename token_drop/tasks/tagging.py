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

"""tfm's tagging task with `init_checkpoint_partial`.

The same option as `token_drop.tasks.sentence_prediction`: without it, an
`init_checkpoint` whose encoder does not match the model's exactly is an
error before training (`token_drop.core.checkpoints.check_encoder_init`).
"""

import dataclasses

from official.core import task_factory
from official.nlp.tasks import tagging


@dataclasses.dataclass
class TaggingConfig(tagging.TaggingConfig):
  """tfm's tagging config plus `init_checkpoint_partial`.

  Attributes:
    init_checkpoint_partial: Accept an `init_checkpoint` whose encoder does
      not match the model's exactly (e.g. more layers).
  """
  init_checkpoint_partial: bool = False


@task_factory.register_task_cls(TaggingConfig)
class TaggingTask(tagging.TaggingTask):
  """tfm's tagging task, for `TaggingConfig`."""
