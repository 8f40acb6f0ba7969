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

"""Seeded, resumable runs: `runtime.seed` and `runtime.deterministic_ops`.

tfm's `RuntimeConfig` has no seed (only each `DataConfig` has `seed`), so
this module extends it, like `time_budget` extends the trainer config; the
experiments registered in `experiments/` use the extension. With
`runtime.seed` set (the default, 42, as in the Hugging Face Trainer):

* weight initialisation: `tf_keras.utils.set_random_seed` seeds Python's,
  NumPy's and TensorFlow's global generators before the model is built;
* dropout: tf_keras layers draw from a `tf.random.Generator` each
  (`tf_keras.backend.experimental.enable_tf_random_generator`) instead of
  stateful kernels whose state restarts with every process; the generators'
  states are saved in checkpoints (`random_generators`), so a resumed run
  draws the masks the uninterrupted run would have drawn;
* data order and dynamic masking: every `task.*_data.seed` left unset gets
  `runtime.seed` (tfm's readers seed file and record shuffling with it, the
  text loader its shuffle and its stateless masks), so the data order and
  masks are a function of the step; a resumed run skips the batches consumed
  before the restored step (`runtime.skip_consumed_input`), so it continues
  the input where it stopped. tf.distribute's iterators cannot be saved in
  a checkpoint, hence the skip: it reads and discards those batches at
  start-up, once, which takes time proportional to the step (the demo's
  text input: about 40 ms per batch of 32 x 128 tokens on a busy 2-core
  machine, over an hour at step 100k; `skip_consumed_input: false` starts
  the input from the beginning again instead, as tfm does).

`runtime.seed: null` gives unseeded runs (tfm's behaviour).

On CPU, two runs with the same seed give equal losses without op
determinism. On GPUs some kernels (e.g. atomics in reductions and
scatter-adds) are not deterministic; `runtime.deterministic_ops: true` calls
`tf.config.experimental.enable_op_determinism`, which makes them so at a
cost in speed (TensorFlow's documentation quotes up to several times slower
for the affected ops) and makes tf.data run its parallel maps in order.
"""

import dataclasses
from typing import List, Optional

from absl import logging
import tensorflow as tf
import tf_keras

from official.core import config_definitions as cfg

DEFAULT_SEED = 42


@dataclasses.dataclass
class RuntimeConfig(cfg.RuntimeConfig):
  """tfm's runtime config with a seed.

  Attributes:
    seed: Seeds weight initialisation, dropout and every data config whose
      own `seed` is unset; None leaves runs unseeded.
    deterministic_ops: Enable TensorFlow op determinism (slower; needed on
      GPUs for equal runs, not on CPU).
    skip_consumed_input: On resume, skip the training batches the restored
      steps consumed (see the module docstring for the cost).
  """
  seed: Optional[int] = DEFAULT_SEED
  deterministic_ops: bool = False
  skip_consumed_input: bool = True


def seed_data_configs(params: cfg.ExperimentConfig) -> None:
  """Gives every `task.*_data` without a `seed` the `runtime.seed`.

  Call before `params.lock()`; the seeds then show in params.yaml.

  Args:
    params: The experiment config (unlocked).
  """
  seed = getattr(params.runtime, 'seed', None)
  if seed is None:
    return
  for name, value in params.task.as_dict().items():
    data = getattr(params.task, name)
    if (isinstance(value, dict) and isinstance(data, cfg.DataConfig) and
        data.seed is None):
      data.seed = seed


def configure(runtime: cfg.RuntimeConfig) -> None:
  """Seeds the process and sets op determinism; call before building models.

  Args:
    runtime: The experiment's runtime config.
  """
  seed = getattr(runtime, 'seed', None)
  if seed is not None:
    tf_keras.utils.set_random_seed(seed)
    tf_keras.backend.experimental.enable_tf_random_generator()
  if getattr(runtime, 'deterministic_ops', False):
    tf.config.experimental.enable_op_determinism()
    logging.info('op determinism enabled (runtime.deterministic_ops)')


def random_generators(model: tf.Module) -> List[tf.random.Generator]:
  """The `tf.random.Generator`s of the model's tf_keras layers, in order.

  tf_keras saves them only in SavedModels; the trainer adds them to its
  checkpoint so that dropout continues its sequence after a resume.

  Args:
    model: The built model.

  Returns:
    The generators, in the model's (deterministic) submodule order.
  """
  generators = []
  seen = set()
  for module in [model] + list(model.submodules):
    rng = getattr(module, '_random_generator', None)
    generator = getattr(rng, '_generator', None)
    if isinstance(generator, tf.random.Generator) and id(generator) not in seen:
      seen.add(id(generator))
      generators.append(generator)
  return generators
