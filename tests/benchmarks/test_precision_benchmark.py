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

"""The precision benchmark's table on tiny shapes (one round, in-process).

Twelve tiny training steps are traced (four of them compiled with XLA):
about a minute on an idle 2-core machine, hence slow, with a longer timeout.
"""

import pytest

from token_drop.benchmarks import flops
from token_drop.benchmarks import precision_benchmark as pb

TINY = dict(layers=4, hidden=16, heads=2, inner=32, full=1)
SHAPES = dict(bert=TINY, bort=dict(layers=2, hidden=32, heads=2, inner=16,
                                   full=0))


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_table_has_every_method_and_precision_and_flop_ratios():
  seq, preds = 16, pb.predictions(16)
  rows = pb.measure(seq, 2, 1, shapes=SHAPES, log=lambda _: None)
  assert {(r['method'], r['precision']) for r in rows} == {
      (m, p) for m in pb.METHODS for p in pb.PRECISIONS}
  bert = flops.encoder_flops(4, seq, 16, 32) + flops.mlm_head_flops(
      preds, 16, pb.VOCAB)
  expected = {
      'bert': 1.0,
      'token_drop': (flops.token_drop_encoder_flops(4, seq, seq // 2, 16, 32,
                                                    1, 3)
                     + flops.mlm_head_flops(preds, 16, pb.VOCAB)) / bert,
      'narrow_bert': (flops.narrow_encoder_flops(4, 1, seq, preds, 16, 32)
                      + flops.mlm_head_flops(preds, 16, pb.VOCAB)) / bert,
      'bort': (flops.encoder_flops(2, seq, 32, 16)
               + flops.mlm_head_flops(preds, 32, pb.VOCAB)) / bert,
  }
  for r in rows:
    assert r['flop_ratio'] == pytest.approx(expected[r['method']], rel=1e-9)
    assert r['step_s'] > 0
    if r['method'] == 'bert' and r['precision'] == 'float32':
      assert r['to_bert_fp32'] == pytest.approx(1.0)
      assert r['speedup'] == pytest.approx(1.0)
  table = pb.format_table(rows)
  assert len(table.splitlines()) == 2 + len(rows)
  assert 'mixed_bfloat16 + XLA' in table and 'NarrowBERT' in table
