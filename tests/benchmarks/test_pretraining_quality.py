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

"""The pretraining quality tool: FLOP columns, curve arithmetic, end to end."""

import json
import os
import subprocess
import sys

import pytest

from token_drop.benchmarks import pretraining_quality as pq

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
VOCAB = 30522  # The bundled vocabulary.
TINY = dict(layers=4, hidden=32, heads=2, inner=128, seq=32, preds=5,
            batch=4, keep=16)


def _layer(q, k, h, inner):
  # Written out independently of flops.layer_flops: Q and O projections at
  # the queries, K and V at the keys, QK^T and AV, the two FFN matmuls.
  return 2 * h * h * q * 2 + 2 * h * h * k * 2 + 2 * q * k * h * 2 + (
      2 * q * h * inner * 2)


def _sizes(**overrides):
  t = dict(TINY, **overrides)
  return pq.Sizes(layers=t['layers'], hidden=t['hidden'], heads=t['heads'],
                  inner=t['inner'], seq=t['seq'], preds=t['preds'],
                  batch=t['batch'], vocab=VOCAB, keep=t['keep'],
                  full_length_layers=2, bort_layers=2, bort_inner=24)


def _head(s):
  return s.preds * (2 * s.hidden * s.hidden + 2 * s.hidden * VOCAB)


def test_step_flops_follow_the_shapes():
  s = _sizes()
  h, inner, seq, keep = s.hidden, s.inner, s.seq, s.keep
  bert = 4 * _layer(seq, seq, h, inner) + _head(s)
  # 4 layers: the paper's range is layers 1-2 (layer 1: kept queries, all
  # keys; layer 2: kept tokens only); layers 0 and 3 are full.
  token_drop = (2 * _layer(seq, seq, h, inner) + _layer(keep, seq, h, inner)
                + _layer(keep, keep, h, inner) + _head(s))
  narrow = (2 * _layer(seq, seq, h, inner)
            + 2 * _layer(s.preds, seq, h, inner) + _head(s))
  bort = 2 * _layer(seq, seq, h, 24) + _head(s)
  assert pq.step_flops('bert', s) == 3 * s.batch * bert
  assert pq.step_flops('budget_bert', s) == 3 * s.batch * bert
  assert pq.step_flops('token_drop', s) == 3 * s.batch * token_drop
  assert pq.step_flops('narrow_bert', s) == 3 * s.batch * narrow
  # Bort's step also runs the teacher (the baseline) forward.
  assert pq.step_flops('bort', s) == s.batch * (3 * bort + bert)


def test_keeping_every_token_costs_what_bert_costs():
  s = _sizes(keep=TINY['seq'])
  assert pq.step_flops('token_drop', s) == pq.step_flops('bert', s)


def test_interpolate_reads_curves_and_crossings():
  points = [{'x': 10, 'y': 8.0}, {'x': 20, 'y': 6.0}, {'x': 30, 'y': 5.0}]
  assert pq.interpolate(points, 'x', 'y', 15) == pytest.approx(7.0)
  assert pq.interpolate(points, 'x', 'y', 30) == pytest.approx(5.0)
  assert pq.interpolate(points, 'x', 'y', 31) is None
  assert pq.interpolate(points, 'x', 'y', 5) is None
  # First crossing of y = 5.5 from above, between x=20 and x=30.
  assert pq.interpolate(points, 'x', 'y', 5.5, by='y') == pytest.approx(25.0)
  assert pq.interpolate(points, 'x', 'y', 4.0, by='y') is None
  assert pq.interpolate(points, 'x', 'y', 9.0, by='y') == 10


def test_summary_ratios_against_the_baseline():
  base = [{'step': 1, 'flops': 100, 'seconds': 10.0, 'loss': 8.0},
          {'step': 2, 'flops': 200, 'seconds': 20.0, 'loss': 6.0}]
  cheap = [{'step': 1, 'flops': 50, 'seconds': 5.0, 'loss': 7.0},
           {'step': 2, 'flops': 100, 'seconds': 10.0, 'loss': 5.0}]
  results = pq.summarize({'bert': {'curve': base}, 'token_drop': {
      'curve': cheap}})
  r = results['token_drop']
  # Loss 6.0 is crossed halfway between 50 and 100 FLOPs: 75 of 200.
  assert r['reach_flops_ratio'] == pytest.approx(0.375)
  assert r['reach_seconds_ratio'] == pytest.approx(0.375)
  # The baseline at 100 FLOPs / 10 s had loss 8.0.
  assert r['baseline_loss_at_flops'] == pytest.approx(8.0)
  assert r['baseline_loss_at_seconds'] == pytest.approx(8.0)
  assert results['bert']['reach_flops_ratio'] == pytest.approx(1.0)


@pytest.mark.parametrize('flag, message', [
    ('--methods=bert,tokendrop', "error: --methods: unknown ['tokendrop']"),
    ('--eval_every=0', 'error: --eval_every=0 must be positive'),
])
@pytest.mark.slow
def test_bad_flag_is_a_one_line_error(tmp_path, flag, message):
  result = subprocess.run(
      [sys.executable, '-m', 'token_drop.benchmarks.pretraining_quality',
       flag, f'--work_dir={tmp_path}'],
      capture_output=True, text=True, cwd=REPO_ROOT, check=False)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1].startswith(message)
  assert not os.listdir(tmp_path)


@pytest.mark.slow
def test_end_to_end_on_a_tiny_setting(tmp_path):
  work = tmp_path / 'work'
  result = subprocess.run(
      [sys.executable, '-m', 'token_drop.benchmarks.pretraining_quality',
       '--methods=bert,token_drop', '--num_layers=4', '--hidden_size=32',
       '--num_attention_heads=2', '--intermediate_size=128',
       '--seq_length=32', '--max_predictions_per_seq=5', '--token_keep_k=16',
       '--batch_size=4', '--train_steps=4', '--eval_every=2',
       '--eval_steps=2', '--finetune_seeds=1', '--finetune_steps=2',
       f'--work_dir={work}'],
      capture_output=True, text=True, cwd=REPO_ROOT, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ('table.md', 'pretraining_quality_loss_vs_flops.png',
               'pretraining_quality_loss_vs_seconds.png'):
    assert (work / name).stat().st_size > 0
  for name in ('pretraining_quality_loss_vs_flops.png',
               'pretraining_quality_loss_vs_seconds.png'):
    assert (work / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
  results = json.loads((work / 'results.json').read_text())
  s = _sizes()
  for method in ('bert', 'token_drop'):
    curve = results[method]['curve']
    assert [p['step'] for p in curve] == [2, 4]
    assert [p['flops'] for p in curve] == [
        step * pq.step_flops(method, s) for step in (2, 4)]
    assert all(p['seconds'] > 0 for p in curve)
    assert len(results[method]['finetune']['accuracy']) == 1
    assert 0.0 <= results[method]['finetune']['accuracy'][0] <= 1.0
    assert 0.0 <= results[method]['finetune']['f1'][0] <= 1.0
  # The table's FLOP column: 4 steps of each method.
  table = (work / 'table.md').read_text()
  rows = [line.split('|') for line in table.splitlines()[2:]]
  assert [int(r[2]) for r in rows] == [4, 4]
  assert [float(r[3]) for r in rows] == [
      pytest.approx(4 * pq.step_flops(m, s), rel=0.005)
      for m in ('bert', 'token_drop')]


@pytest.mark.slow
def test_budget_bert_and_bort_pretrain_in_the_tool(tmp_path):
  work = tmp_path / 'work'
  result = subprocess.run(
      [sys.executable, '-m', 'token_drop.benchmarks.pretraining_quality',
       '--methods=bert,budget_bert,bort', '--num_layers=2', '--hidden_size=32',
       '--num_attention_heads=2', '--intermediate_size=64',
       '--bort_num_layers=1', '--seq_length=32', '--max_predictions_per_seq=5',
       '--token_keep_k=16', '--full_length_layers=1', '--batch_size=4',
       '--train_steps=2', '--eval_every=2', '--eval_steps=1',
       '--finetune_seeds=0', f'--work_dir={work}'],
      capture_output=True, text=True, cwd=REPO_ROOT, check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((work / 'results.json').read_text())
  s = pq.Sizes(layers=2, hidden=32, heads=2, inner=64, seq=32, preds=5,
               batch=4, vocab=VOCAB, keep=16, full_length_layers=1,
               bort_layers=1, bort_inner=24)
  for method in ('bert', 'budget_bert', 'bort'):
    (point,) = results[method]['curve']
    assert point['step'] == 2
    assert point['flops'] == 2 * pq.step_flops(method, s)
  # Bort's teacher is the baseline's checkpoint, which it must have read.
  config = (work / 'configs' / 'bort.yaml').read_text()
  assert str(work / 'pretrain' / 'bert') in config
