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

"""finetune_check reads a run's results from its metrics.json, not stdout."""

import json
import os
import sys

import pytest

from token_drop.benchmarks import finetune_check

# A stand-in for train.py: writes metrics.json into --model_dir like it does.
_WRITE_METRICS = (
    'import json, os, sys; d = sys.argv[1].split("=", 1)[1]; '
    'json.dump({"step": 4, "train": {}, "validation": {"cls_accuracy": 0.75}},'
    ' open(os.path.join(d, "metrics.json"), "w")); '
    'print("final validation metrics: cls_accuracy=0.1")')


@pytest.mark.slow
def test_run_train_reads_metrics_json(tmp_path):
  metrics, seconds = finetune_check.run_train(
      [sys.executable, '-c', _WRITE_METRICS, f'--model_dir={tmp_path}'])
  assert metrics == {'cls_accuracy': 0.75}  # Not the 0.1 printed.
  assert seconds > 0


@pytest.mark.slow
def test_run_train_refuses_a_stale_metrics_json(tmp_path):
  path = tmp_path / 'metrics.json'
  path.write_text(json.dumps({'validation': {'cls_accuracy': 0.5}}))
  os.utime(path, (0, 0))  # Written long before this run.
  with pytest.raises(SystemExit, match='wrote no final validation metrics'):
    finetune_check.run_train(
        [sys.executable, '-c', 'pass', f'--model_dir={tmp_path}'])
