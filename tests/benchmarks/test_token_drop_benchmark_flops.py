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

"""FLOP model of the token-dropping benchmark (no timing here)."""

import pytest

from token_drop.benchmarks import flops
from token_drop.benchmarks import token_drop_benchmark as bench


def test_layer_flops_of_a_full_layer():
  h, inner, s = 8, 32, 4
  # Q, K, V, O projections + QK^T and AV + two FFN matmuls.
  want = 4 * 2 * s * h * h + 2 * 2 * s * s * h + 2 * 2 * s * h * inner
  assert flops.layer_flops(s, s, h, inner) == want


def test_bert_base_flop_ratio_is_about_three_quarters():
  base = bench.SIZES['base']
  ratio = bench.model_flops(base, True) / bench.model_flops(base, False)
  assert ratio == pytest.approx(0.755, abs=0.005)
  no_drop = dict(base, keep=base['seq'])
  assert bench.model_flops(no_drop, True) == bench.model_flops(no_drop, False)
