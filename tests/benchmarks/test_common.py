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

"""Tests for token_drop.benchmarks.common: the timer and the docs writer."""

import time

import numpy as np
import pytest
import tensorflow as tf

from token_drop.benchmarks import common


def test_alternate_time_warms_up_alternates_and_cycles_inputs():
  calls = []

  def make(name, seconds):
    def fn(x):
      calls.append((name, x))
      time.sleep(seconds)
      return tf.constant(x)
    return fn

  times = common.alternate_time(
      {'fast': make('fast', 0.001), 'slow': make('slow', 0.03)}, rounds=4,
      inputs=[0, 1])
  # Warm-up: each function once per input, then rounds in alternating order.
  assert calls[:4] == [('fast', 0), ('fast', 1), ('slow', 0), ('slow', 1)]
  assert calls[4:] == [('fast', 0), ('slow', 0), ('slow', 1), ('fast', 1),
                       ('fast', 0), ('slow', 0), ('slow', 1), ('fast', 1)]
  assert sorted(times) == ['fast', 'slow']
  for t in times.values():
    assert len(t['wall']) == len(t['cpu']) == 4
  # Each timed call covers the function's own wall time; sleeping takes wall
  # time but next to no CPU time. (No comparison with the fast function:
  # on a loaded machine any call can wait for a core.)
  assert min(times['slow']['wall']) >= 0.03
  slow_cpu = sorted(times['slow']['cpu'])
  assert slow_cpu[0] < 0.015


def test_alternate_time_without_inputs_and_bad_rounds():
  counts = {'a': 0}

  def a():
    counts['a'] += 1

  times = common.alternate_time({'a': a}, rounds=3)
  assert counts['a'] == 4  # One warm-up call.
  assert len(times['a']['wall']) == 3
  times = common.alternate_time({'a': a}, rounds=2, warm_up=False)
  assert counts['a'] == 6  # No warm-up call.
  assert len(times['a']['wall']) == 2
  with pytest.raises(ValueError, match='rounds=0'):
    common.alternate_time({'a': a}, rounds=0)


def test_write_section_replaces_its_section_and_appends_new_ones(tmp_path):
  path = str(tmp_path / 'docs' / 'benchmarks.md')
  common.write_section('## A', '## A\n\none\n', path)
  common.write_section('## B', '## B\n\ntwo\n', path)
  common.write_section('## A', '## A\n\nthree\n', path)
  with open(path, encoding='utf-8') as f:
    assert f.read() == '# Benchmarks\n\n## A\n\nthree\n\n## B\n\ntwo\n'


def test_report_section_prints_and_writes_only_with_update_docs(
    tmp_path, capsys):
  path = str(tmp_path / 'benchmarks.md')
  text = common.report_section('## X', 'python -m x', '| a |', False,
                               path=path)
  assert capsys.readouterr().out == text + '\n'
  assert not (tmp_path / 'benchmarks.md').exists()
  assert text.startswith('## X\n\n```\npython -m x\n```\n\n| a |\n\n')
  assert 'machine shared with other jobs: note).\n' in common.report_section(
      '## X', 'python -m x', '| a |', True, load_note=': note', path=path)
  with open(path, encoding='utf-8') as f:
    assert f.read().startswith('# Benchmarks\n\n## X\n\n```\npython -m x\n')


def test_masked_lm_inputs_are_full_sequences_with_distinct_positions():
  inputs = common.masked_lm_inputs(3, 12, 4, seed=0, vocab_size=2000)
  ids = inputs['input_word_ids'].numpy()
  positions = inputs['masked_lm_positions'].numpy()
  assert ids.shape == (3, 12) and positions.shape == (3, 4)
  assert (ids[:, 0] == 101).all() and (ids[:, -1] == 102).all()
  assert ((ids[:, 1:-1] >= 999) & (ids[:, 1:-1] < 2000)).all()
  assert (positions >= 1).all() and (positions <= 10).all()
  assert (np.diff(positions, axis=1) > 0).all()  # Sorted and distinct.
  np.testing.assert_array_equal(inputs['masked_lm_ids'].numpy(),
                                np.take_along_axis(ids, positions, 1))
  assert inputs['input_mask'].numpy().all()
  again = common.masked_lm_inputs(3, 12, 4, seed=0, vocab_size=2000)
  np.testing.assert_array_equal(again['input_word_ids'].numpy(), ids)
