"""FLOP counts of the Bort benchmark, checked against hand-computed values."""

import pytest

from token_drop.benchmarks import bort_benchmark


def test_bort_flop_ratio_at_seq_128():
  bert = 12 * (8 * 768**2 * 128 + 4 * 128**2 * 768 + 4 * 128 * 768 * 3072)
  bort = 4 * (8 * 1024**2 * 128 + 4 * 128**2 * 1024 + 4 * 128 * 1024 * 768)
  assert bort_benchmark.model_flops('bert_base', 128) == bert
  assert bort_benchmark.model_flops('bort', 128) == bort
  assert bert / bort == pytest.approx(3.62, abs=0.01)
