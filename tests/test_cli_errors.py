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

"""Every user mistake ends in one `error:` line, exit code 2, nothing written.

Most cases run in this process through `errors.call`, the function the
command lines use, on the same parse/check/run functions as `train.py` and
the tools; a handful of subprocess cases (marked slow) cover the command-line
wiring. Each case checks the exit code, exactly one `error:` line naming the
key, file or value, no traceback, and a model_dir (or output) left
byte-for-byte as it was.
"""

import json
import os
import subprocess
import sys
import types

import pytest
import tensorflow as tf

from official.nlp.configs import encoders
import train
from token_drop.testing import train_utils as tu
from token_drop.core import checkpoints
from token_drop.core import config_parser
from token_drop.core import errors
from token_drop.data import create_pretraining_data as cpd
from token_drop.tools import export_hf
from token_drop.tools import import_hf

SENTENCE_DEMO = os.path.join('configs', 'demo', 'sentence_prediction_demo.yaml')
TOKEN_DROP_DEMO = os.path.join('configs', 'demo', 'tiny_token_drop.yaml')
BORT_DEMO = os.path.join('configs', 'demo',
                         'bort_pretraining_distillation.yaml')
VOCAB = os.path.join(tu.REPO_ROOT, 'data', 'vocab', 'bert_en_uncased_vocab.txt')


def _snapshot(path):
  """Every file under `path` (or `path` itself) with its bytes."""
  if os.path.isfile(path):
    with open(path, 'rb') as f:
      return {'': f.read()}
  files = {}
  for root, _, names in os.walk(path):
    for name in names:
      full = os.path.join(root, name)
      with open(full, 'rb') as f:
        files[os.path.relpath(full, path)] = f.read()
  return files


def _model_dir(tmp_path):
  """A model_dir of an earlier run: params.yaml and a file of its own."""
  model_dir = tmp_path / 'run'
  model_dir.mkdir()
  (model_dir / 'params.yaml').write_text('earlier: run\n')
  (model_dir / 'notes.txt').write_text('keep me\n')
  return str(model_dir)


def _expect_user_error(capsys, fn, *expected):
  """Runs `fn` as a CLI main would; checks the exit and the error line."""
  capsys.readouterr()
  with pytest.raises(SystemExit) as exit_info:
    errors.call(lambda argv: fn(), [])
  err = capsys.readouterr().err
  assert exit_info.value.code == errors.EXIT_CODE, err
  lines = [line for line in err.splitlines() if line.startswith('error:')]
  assert len(lines) == 1, err
  assert 'Traceback' not in err, err
  for text in expected:
    assert text in lines[0], lines[0]
  return lines[0]


class _Options(types.SimpleNamespace):
  """tfm's parse options (it asks `name in options`) plus `mode`."""

  def __contains__(self, name):
    return hasattr(self, name)


def _parse(experiment='bert/pretraining', config_files=(tu.DEMO_DATA,
                                                          tu.TINY_BERT),
           override=None, mode='train'):
  options = _Options(
      experiment=experiment,
      config_file=[os.path.join(tu.REPO_ROOT, f) for f in config_files],
      params_override=override, tpu=None, tf_data_service=None, mode=mode)
  return config_parser.parse_configuration(options)


def _train(model_dir, mode='train', **kwargs):
  """What train.py's main does, from the repo root."""
  cwd = os.getcwd()
  os.chdir(tu.REPO_ROOT)
  try:
    params = _parse(mode=mode, **kwargs)
    train.run(params, model_dir, mode, save_params='train' in mode)
  finally:
    os.chdir(cwd)


def _pretrain(extra, **kwargs):
  return dict(override=tu.tiny_pretrain_override(train_steps=2, extra=extra),
              **kwargs)


def _write_classification_records(path, seq_length, max_id=100):
  def ints(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))
  ids = [101] + [max_id] * (seq_length - 2) + [102]
  example = tf.train.Example(features=tf.train.Features(feature={
      'input_ids': ints(ids), 'input_mask': ints([1] * seq_length),
      'segment_ids': ints([0] * seq_length), 'label_ids': ints([1])}))
  with tf.io.TFRecordWriter(str(path)) as writer:
    for _ in range(8):
      writer.write(example.SerializeToString())
  return str(path)


def _finetune(records, extra=''):
  """A tiny finetuning/sentence_prediction run on `records` (TFRecords)."""
  e = 'task.model.encoder.bert'
  items = [f'{e}.hidden_size=32', f'{e}.num_layers=2',
           f'{e}.num_attention_heads=2', f'{e}.intermediate_size=64',
           'trainer.train_steps=1', 'trainer.steps_per_loop=1',
           'trainer.summary_interval=1', 'trainer.checkpoint_interval=1',
           'trainer.validation_interval=1', 'trainer.validation_steps=1']
  for data in ('train_data', 'validation_data'):
    items += [f'task.{data}.source_path=""',
              f'task.{data}.input_path={records}',
              f'task.{data}.seq_length=32', f'task.{data}.global_batch_size=4']
  if extra:
    items.append(extra)
  return dict(experiment='finetuning/sentence_prediction',
              config_files=(SENTENCE_DEMO, tu.TINY_BERT),
              override=','.join(items))


def _encoder_checkpoint(path, num_layers):
  encoder = encoders.build_encoder(encoders.EncoderConfig(
      type='bert', bert=encoders.BertEncoderConfig(
          vocab_size=30522, hidden_size=32, num_layers=num_layers,
          num_attention_heads=2, intermediate_size=64)))
  return tf.train.Checkpoint(encoder=encoder).write(str(path))


def _text(tmp_path, name, data):
  path = tmp_path / name
  path.write_bytes(data)
  return str(path)


def _records(tmp_path, seq_length=32, max_id=100):
  return _write_classification_records(
      tmp_path / f'sp{seq_length}_{max_id}.tfrecord', seq_length, max_id)


def _small_vocab(tmp_path):
  return _text(tmp_path, 'vocab.txt',
               b'[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n')


# name -> tmp_path -> (kwargs of _train, model_dir or None, expected texts).
# Built per case, so that each case pays only for its own inputs.
_TRAIN_CASES = {
    'unknown experiment': lambda t: (
        dict(experiment='token_drop/pretrainig'), None,
        ["--experiment='token_drop/pretrainig'", 'bert/pretraining']),
    'train_steps=abc': lambda t: (
        _pretrain('trainer.train_steps=abc'), None,
        ["trainer.train_steps='abc'", 'an integer']),
    'train_steps empty': lambda t: (
        _pretrain('trainer.train_steps='), None,
        ['trainer.train_steps is empty']),
    'token_keep_k=0': lambda t: (
        dict(experiment='token_drop_bert/pretraining',
             config_files=(tu.DEMO_DATA, TOKEN_DROP_DEMO),
             override=tu.tiny_pretrain_override(
                 encoder='any',
                 extra='task.model.encoder.any.token_keep_k=0')),
        None, ['task.model.encoder.any.token_keep_k=0']),
    'summary_interval': lambda t: (
        dict(override=tu.tiny_pretrain_override(
            steps_per_loop=2, extra='trainer.summary_interval=3')),
        None, ['trainer.summary_interval=3', 'steps_per_loop=2']),
    'steps_per_loop=0': lambda t: (
        _pretrain('trainer.steps_per_loop=0'), None,
        ['trainer.steps_per_loop=0']),
    'batch 0': lambda t: (
        _pretrain('task.train_data.global_batch_size=0'), None,
        ['task.train_data.global_batch_size=0']),
    'pruning value': lambda t: (
        dict(_finetune(_records(t), 'task.pruning.target_sparsity=1.5'),
             experiment='pruning/sentence_prediction'),
        None, ['task.pruning.target_sparsity=1.5']),
    'missing teacher': lambda t: (
        dict(experiment='bort/pretraining_distillation',
             config_files=(tu.DEMO_DATA, BORT_DEMO),
             override=tu.tiny_pretrain_override(extra=','.join([
                 'task.teacher.allow_untrained=false',
                 f'task.teacher.init_checkpoint={t}/no_teacher'] + [
                     f'task.teacher.model.encoder.bert.{k}'
                     for k in ('hidden_size=32', 'num_layers=1',
                               'num_attention_heads=2',
                               'intermediate_size=64')]))),
        None, [f"task.teacher.init_checkpoint='{t}/no_teacher'"]),
    'init_checkpoint typo': lambda t: (
        _finetune(_records(t), f'task.init_checkpoint={t}/pretrian'),
        None, [f"task.init_checkpoint='{t}/pretrian'", 'no checkpoint']),
    'encoder.type=anyy': lambda t: (
        _pretrain('task.model.encoder.type=anyy'), None,
        ["task.model.encoder.type='anyy'", "'bert'"]),
    'model_dir is a file': lambda t: (
        _pretrain(''), _text(t, 'a_file', b'not a folder\n'),
        [f"--model_dir '{t}/a_file' is a file"]),
    'fine-tuning seq_length': lambda t: (
        _finetune(_records(t),
                  'task.model.encoder.bert.max_position_embeddings=16'),
        None, ['task.train_data.seq_length=32', 'max_position_embeddings=16']),
    'vocab_size below vocabulary': lambda t: (
        _pretrain('task.model.encoder.bert.vocab_size=1000'), None,
        ['bert_en_uncased_vocab.txt', '30522 entries', 'vocab_size is 1000']),
    'fine-tuning vocab file size': lambda t: (
        _finetune(_records(t),
                  f'task.train_data.vocab_file={_small_vocab(t)}'),
        None, [f'{t}/vocab.txt', 'has 6 entries']),
    'fine-tuning TFRecord length': lambda t: (
        _finetune(_records(t, seq_length=64)), None,
        [f'{t}/sp64_100.tfrecord', "'input_ids' has length 64",
         'task.train_data.seq_length is 32']),
    'fine-tuning TFRecord ids': lambda t: (
        _finetune(_records(t, max_id=40000)), None,
        [f'{t}/sp32_40000.tfrecord', 'token id 40000', 'vocab_size=30522']),
    'override with index': lambda t: (
        dict(override='a.b[0].c=1'), None,
        ["this part did not parse: 'a.b[0].c=1'", 'accepted forms']),
    'override without =': lambda t: (
        dict(override='trainer.train_steps=5,trainer.steps_per_loop'), None,
        ["did not parse: 'trainer.steps_per_loop'", 'accepted forms']),
    'blank corpus': lambda t: (
        _pretrain('task.train_data.input_path=' +
                  _text(t, 'blank.txt', b'\n\n   \n\n')),
        None, [f'{t}/blank.txt', 'only blank lines']),
    'latin-1 corpus': lambda t: (
        _pretrain('task.train_data.input_path=' + _text(
            t, 'latin1.txt', 'tea and caf\xe9'.encode('latin-1'))),
        None, [f'{t}/latin1.txt', 'not valid UTF-8', 'byte offset 11']),
    'deeper init_checkpoint': lambda t: (
        _finetune(_records(t), 'task.init_checkpoint='
                  f'{_encoder_checkpoint(t / "four" / "ckpt-1", 4)}'),
        None, [f'{t}/four/ckpt-1', '4 transformer layers, the model 2',
               'task.init_checkpoint_partial']),
}


@pytest.mark.parametrize('case', list(_TRAIN_CASES))
@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_train_mistake_is_one_error_line(tmp_path, capsys, case):
  kwargs, model_dir, expected = _TRAIN_CASES[case](tmp_path)
  model_dir = model_dir or _model_dir(tmp_path)
  before = _snapshot(model_dir)
  _expect_user_error(capsys, lambda: _train(model_dir, **kwargs), *expected)
  assert _snapshot(model_dir) == before


@pytest.mark.slow  # Quick-tier budget: over 1.2 CPU-s.
def test_partial_init_checkpoint_is_allowed_when_asked(tmp_path):
  encoder = encoders.build_encoder(encoders.EncoderConfig(
      type='bert', bert=encoders.BertEncoderConfig(
          vocab_size=30522, hidden_size=32, num_layers=2,
          num_attention_heads=2, intermediate_size=64)))
  four_layers = _encoder_checkpoint(tmp_path / 'four' / 'ckpt-1', 4)
  two_layers = tf.train.Checkpoint(encoder=encoder).write(
      str(tmp_path / 'two' / 'ckpt-1'))
  with pytest.raises(checkpoints.InitCheckpointError, match='4 transformer'):
    checkpoints.check_encoder_init(encoder, four_layers)
  assert checkpoints.check_encoder_init(encoder, four_layers,
                                        partial=True) == four_layers
  assert checkpoints.check_encoder_init(encoder, two_layers) == two_layers


@pytest.mark.skipif(os.geteuid() == 0,
                    reason='root may write to a read-only folder')
def test_read_only_model_dir_is_one_error_line(tmp_path, capsys):
  model_dir = _model_dir(tmp_path)
  os.chmod(model_dir, 0o555)
  try:
    before = _snapshot(model_dir)
    _expect_user_error(capsys, lambda: _train(model_dir, **_pretrain('')),
                       'is not writable')
    assert _snapshot(model_dir) == before
  finally:
    os.chmod(model_dir, 0o755)


def _cpd_flags(**changes):
  values = dict(max_seq_length=128, max_predictions_per_seq=20,
                masked_lm_prob=0.15, short_seq_prob=0.1, dupe_factor=1,
                max_ngram_size=None, documents_per_chunk=1000,
                max_lines_per_chunk=20000, tokenization='WordPiece',
                vocab_file=VOCAB, sp_model_file=None, output_file='/x/out',
                num_output_shards=1)
  values.update(changes)
  return types.SimpleNamespace(**values)


@pytest.mark.parametrize('changes,expected', [
    (dict(max_predictions_per_seq=200), '--max_predictions_per_seq=200'),
    (dict(max_seq_length=2), '--max_seq_length=2'),
    (dict(masked_lm_prob=0.0), '--masked_lm_prob=0.0'),
    (dict(dupe_factor=0), '--dupe_factor=0'),
    (dict(vocab_file=None), '--vocab_file=None'),
    (dict(num_output_shards=0), '--num_output_shards=0'),
])
def test_create_pretraining_data_flags(capsys, changes, expected):
  cpd.check_flags(_cpd_flags())
  _expect_user_error(capsys, lambda: cpd.check_flags(_cpd_flags(**changes)),
                     expected)


def _truncated_hf_dir(path):
  os.makedirs(path)
  with open(os.path.join(path, 'config.json'), 'w') as f:
    json.dump({'architectures': ['BertForMaskedLM'], 'model_type': 'bert',
               'vocab_size': 6, 'hidden_size': 4, 'num_hidden_layers': 1,
               'num_attention_heads': 1, 'intermediate_size': 8,
               'hidden_act': 'gelu', 'max_position_embeddings': 8,
               'type_vocab_size': 2}, f)
  with open(os.path.join(path, 'vocab.txt'), 'w') as f:
    f.write('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n')
  with open(os.path.join(path, 'model.safetensors'), 'wb') as f:
    f.write(b'\x40\x00\x00\x00\x00\x00\x00\x00{"a": {"dtype": "F32"')
  return path


def test_tool_mistakes_are_one_error_line(tmp_path, capsys):
  hf_dir = _truncated_hf_dir(str(tmp_path / 'hf'))
  out = tmp_path / 'out'
  _expect_user_error(
      capsys, lambda: import_hf.import_checkpoint(hf_dir, str(out)),
      os.path.join(hf_dir, 'model.safetensors'), 'truncated')
  assert not out.exists()
  empty = tmp_path / 'empty_run'
  empty.mkdir()
  _expect_user_error(
      capsys, lambda: export_hf.export_checkpoint(str(empty),
                                                  str(tmp_path / 'hf2')),
      f"--checkpoint='{empty}'", 'the folder has no checkpoint')
  assert not (tmp_path / 'hf2').exists()


def _run(command, tmp_path):
  return subprocess.run(command, cwd=tu.REPO_ROOT,
                        capture_output=True, text=True, timeout=300,
                        check=False, env=dict(os.environ, TMPDIR=str(tmp_path)))


def _assert_cli_error(result, *expected):
  assert result.returncode == errors.EXIT_CODE, result.stderr[-3000:]
  lines = [l for l in result.stderr.splitlines() if l.startswith('error:')]
  assert len(lines) == 1, result.stderr[-3000:]
  assert 'Traceback' not in result.stderr
  for text in expected:
    assert text in lines[0], lines[0]


@pytest.mark.slow
def test_train_cli_reports_user_errors(tmp_path):
  model_dir = _model_dir(tmp_path)
  before = _snapshot(model_dir)
  _assert_cli_error(_run(tu.train_command(
      model_dir, override=tu.tiny_pretrain_override(
          extra='trainer.train_steps=abc')), tmp_path),
                    "trainer.train_steps='abc'")
  _assert_cli_error(_run(tu.train_command(
      model_dir, experiment='nope/pretraining'), tmp_path),
                    "--experiment='nope/pretraining'")
  # An absl flag error (no --mode) takes the same way out.
  command = [c for c in tu.train_command(model_dir)
             if not c.startswith('--mode')]
  _assert_cli_error(_run(command, tmp_path), '--mode')
  assert _snapshot(model_dir) == before


@pytest.mark.slow
def test_data_and_tool_clis_report_user_errors(tmp_path):
  out = tmp_path / 'out.tfrecord'
  _assert_cli_error(_run([
      sys.executable, '-m', 'token_drop.data.create_pretraining_data',
      '--input_file=/no/such/corpus.txt', f'--vocab_file={VOCAB}',
      f'--output_file={out}', '--max_seq_length=16',
      '--max_predictions_per_seq=20'], tmp_path),
                    '--max_predictions_per_seq=20')
  _assert_cli_error(_run([
      sys.executable, '-m', 'token_drop.data.create_finetuning_data',
      '--task=classification',
      '--input_file=/no/such/train.tsv', f'--vocab_file={VOCAB}',
      f'--output_file={out}'], tmp_path), '/no/such/train.tsv')
  assert not out.exists()
  hf_dir = _truncated_hf_dir(str(tmp_path / 'hf'))
  _assert_cli_error(_run([
      sys.executable, '-m', 'token_drop.tools.import_hf',
      f'--hf_dir={hf_dir}',
      f'--output_dir={tmp_path / "imported"}'], tmp_path), 'truncated')
  _assert_cli_error(_run([
      sys.executable, '-m', 'token_drop.tools.export_hf',
      f'--checkpoint={tmp_path}',
      f'--output_dir={tmp_path / "exported"}'], tmp_path),
                    'the folder has no checkpoint')
  assert not (tmp_path / 'imported').exists()
  assert not (tmp_path / 'exported').exists()


def test_ctrl_c_outside_training_is_one_line(capsys):
  """Ctrl-C while a CLI starts (before any training loop) is no traceback."""

  def interrupted_main(argv):
    del argv
    raise KeyboardInterrupt

  with pytest.raises(SystemExit) as exit_info:
    errors.call(interrupted_main, ['cli'])
  assert exit_info.value.code == errors.INTERRUPT_EXIT_CODE == 130
  err = capsys.readouterr().err
  assert err.strip().splitlines() == ['interrupted (Ctrl-C)']
