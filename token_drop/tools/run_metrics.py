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

"""Reads what a train.py run wrote: metrics.json and TensorBoard scalars.

Scripts compare runs from these files, never from console text:
`metrics.json` holds the final train and validation metrics (written by
train.py at the end of a run), and the event files under `model_dir/train`
and `model_dir/validation` hold every summary step.
"""

import collections
import glob
import json
import os
from typing import Dict, List, Tuple

import tensorflow as tf

Curve = List[Tuple[int, float]]


def read_metrics(model_dir: str) -> dict:
  """The final metrics of a finished run (train.py's metrics.json).

  Args:
    model_dir: The run's model_dir.

  Returns:
    A dict with `step`, `train` and `validation` (metric name -> float).

  Raises:
    FileNotFoundError: The run wrote no metrics.json (it did not finish).
  """
  path = os.path.join(model_dir, 'metrics.json')
  if not tf.io.gfile.exists(path):
    raise FileNotFoundError(f'{path}: no metrics.json; did the run finish?')
  with tf.io.gfile.GFile(path) as f:
    return json.load(f)


def _value(value) -> float:
  if value.HasField('tensor'):
    return float(tf.make_ndarray(value.tensor))
  return float(value.simple_value)


def read_scalars(directory: str) -> Dict[str, Curve]:
  """Scalar summaries of the event files in one folder, by tag.

  Args:
    directory: A summary folder, e.g. `model_dir/validation`.

  Returns:
    Tag -> [(step, value)] sorted by step; a step written twice (a resumed
    run) keeps its last value.
  """
  by_tag = collections.defaultdict(dict)
  for path in sorted(glob.glob(os.path.join(directory,
                                            'events.out.tfevents.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        try:
          by_tag[value.tag][int(event.step)] = _value(value)
        except (TypeError, ValueError):
          continue  # Not a scalar (histogram, text).
  return {tag: sorted(points.items()) for tag, points in by_tag.items()}
