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

"""FLOP counts of the Bort benchmark, checked against hand-computed values."""

import pytest

from token_drop.benchmarks import bort_benchmark


def test_bort_flop_ratio_at_seq_128():
  bert = 12 * (8 * 768**2 * 128 + 4 * 128**2 * 768 + 4 * 128 * 768 * 3072)
  bort = 4 * (8 * 1024**2 * 128 + 4 * 128**2 * 1024 + 4 * 128 * 1024 * 768)
  assert bort_benchmark.model_flops('bert_base', 128) == bert
  assert bort_benchmark.model_flops('bort', 128) == bort
  assert bert / bort == pytest.approx(3.62, abs=0.01)
