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

"""End-to-end tests of train.py: summaries, resume, bad input, distribution."""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest
import tensorflow as tf

from official.core import train_utils
import train
from token_drop.core import config_parser
from token_drop.data import checks
from token_drop.testing import distribute
from token_drop.testing import train_utils as tu


def _event_tags(directory):
  tags = set()
  for path in glob.glob(os.path.join(directory, 'events.out.tfevents.*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        tags.add(value.tag)
  return tags


def _checkpoints(model_dir):
  state = tf.train.get_checkpoint_state(model_dir)
  return list(state.all_model_checkpoint_paths) if state else []


@pytest.mark.slow
def test_demo_stack_trains_and_writes_summaries(tmp_path):
  model_dir = str(tmp_path / 'run')
  result = tu.run_train(model_dir, override=tu.tiny_pretrain_override())
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'final train metrics:' in result.stdout
  assert 'final validation metrics:' in result.stdout
  assert f'tensorboard --logdir {model_dir}' in result.stdout
  # A quiet console: each line once (orbit's echo of its logs and its
  # metrics dicts are gone), one progress line per loop with an ETA.
  lines = result.stdout.splitlines()
  assert len(lines) == len(set(lines)), result.stdout
  assert 'train | step' not in result.stdout + result.stderr
  progress = [l for l in lines if l.startswith('step ')]
  assert [l.split(' | ')[0] for l in progress] == [
      'step 2/6', 'step 4/6', 'step 6/6'], result.stdout
  assert all(re.fullmatch(
      r'step \d+/6 \| [\d.e+-]+ steps/s \| ETA \d+:\d\d:\d\d \| '
      r'loss [\d.]+ lr [\d.e+-]+', l) for l in progress), progress
  assert sum(l.startswith('validation at step 6/6 | loss ') for l in lines) == 1
  assert len(lines) <= 10, result.stdout
  assert os.path.exists(os.path.join(model_dir, 'params.yaml'))
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-6')
  train_tags = _event_tags(os.path.join(model_dir, 'train'))
  assert {'training_loss', 'lm_example_loss', 'masked_lm_accuracy',
          'learning_rate', 'steps_per_second',
          'tokens_per_second'} <= train_tags, train_tags
  eval_tags = _event_tags(os.path.join(model_dir, 'validation'))
  assert {'validation_loss', 'lm_example_loss',
          'masked_lm_accuracy'} <= eval_tags, eval_tags


@pytest.mark.slow
def test_killed_run_resumes_from_last_checkpoint(tmp_path):
  model_dir = str(tmp_path / 'run')
  train_steps = 60
  override = tu.tiny_pretrain_override(train_steps=train_steps,
                                       steps_per_loop=2)
  cmd = tu.train_command(model_dir, override=override, mode='train')
  proc = subprocess.Popen(cmd, cwd=tu.REPO_ROOT, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
  try:
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
      if len(_checkpoints(model_dir)) >= 2:
        break
      time.sleep(0.1)
    assert proc.poll() is None, 'the run ended before it could be killed'
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
  finally:
    if proc.poll() is None:
      proc.kill()
  killed_at = tf.train.latest_checkpoint(model_dir)
  assert killed_at is not None
  assert 0 < int(killed_at.rsplit('-', 1)[1]) < train_steps

  # --verbosity=0 brings back every INFO line, orbit's included, each once.
  result = subprocess.run(cmd + ['--verbosity=0'], cwd=tu.REPO_ROOT,
                          capture_output=True, text=True, timeout=600,
                          check=False)
  assert result.returncode == 0, result.stderr[-3000:]
  assert f'restored from checkpoint: {killed_at}' in result.stdout
  assert 'train | step' in result.stderr
  assert 'train | step' not in result.stdout
  assert tf.train.latest_checkpoint(model_dir).endswith(f'ckpt-{train_steps}')


def _tiny_params(tmp_path, config_files=(tu.DEMO_DATA, tu.TINY_BERT),
                 extra=''):
  options = train_utils.ParseConfigOptions(
      experiment='bert/pretraining',
      config_file=[os.path.join(tu.REPO_ROOT, f) for f in config_files],
      params_override=tu.tiny_pretrain_override(extra=extra))
  cwd = os.getcwd()
  os.chdir(tu.REPO_ROOT)
  try:
    return config_parser.parse_configuration(options)
  finally:
    os.chdir(cwd)


def _run_in_repo(params, model_dir, strategy=None):
  cwd = os.getcwd()
  os.chdir(tu.REPO_ROOT)
  try:
    return train.run(params, model_dir, 'train', strategy=strategy)
  finally:
    os.chdir(cwd)


def _write_tfrecord(path, seq_length, max_predictions):
  def ints(n, value=1):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[value] * n))
  example = tf.train.Example(features=tf.train.Features(feature={
      'input_ids': ints(seq_length), 'input_mask': ints(seq_length),
      'segment_ids': ints(seq_length, 0),
      'masked_lm_positions': ints(max_predictions),
      'masked_lm_ids': ints(max_predictions),
      'masked_lm_weights': tf.train.Feature(float_list=tf.train.FloatList(
          value=[1.0] * max_predictions)),
  }))
  with tf.io.TFRecordWriter(path) as writer:
    for _ in range(8):
      writer.write(example.SerializeToString())


def _bad_input_cases(tmp_path):
  empty = tmp_path / 'empty.txt'
  empty.write_text('')
  small_vocab = tmp_path / 'vocab.txt'
  small_vocab.write_text('\n'.join(['[PAD]', '[UNK]', '[CLS]', '[SEP]',
                                    '[MASK]', 'a']) + '\n')
  good = str(tmp_path / 'good.tfrecord')
  _write_tfrecord(good, seq_length=64, max_predictions=5)
  corrupt = tmp_path / 'corrupt.tfrecord'
  corrupt.write_bytes(b'\x07' * 100)
  tfrecord = ('task.train_data.input_format=tfrecord,'
              'task.validation_data.input_format=tfrecord,'
              'task.validation_data.input_path={0},'
              'task.train_data.input_path={0}')
  return {
      'missing input': ('task.train_data.input_path=data/corpus/nope_*.txt',
                        'nope_*.txt'),
      'empty input': (f'task.train_data.input_path={empty}', 'empty'),
      'missing vocab': ('task.train_data.vocab_file=/no/such/vocab.txt',
                        '/no/such/vocab.txt'),
      'vocab size': (f'task.train_data.vocab_file={small_vocab}',
                     'has 6 entries but task.model.encoder vocab_size is '
                     '30522'),
      'seq longer than positions': (
          'task.model.encoder.bert.max_position_embeddings=16',
          'seq_length=32 is larger than task.model.encoder '
          'max_position_embeddings=16'),
      'feature length': (tfrecord.format(good),
                         "feature 'input_ids' has length 64 but the config "
                         'expects 32 (seq_length)'),
      'corrupt tfrecord': (tfrecord.format(corrupt),
                           f"TFRecord file '{corrupt}' is corrupt"),
  }


@pytest.mark.parametrize('case', [
    'missing input', 'empty input', 'missing vocab', 'vocab size',
    'seq longer than positions', 'feature length', 'corrupt tfrecord'])
def test_bad_input_fails_before_training(tmp_path, case):
  override, expected = _bad_input_cases(tmp_path)[case]
  params = _tiny_params(tmp_path, extra=override)
  model_dir = str(tmp_path / 'run')
  with pytest.raises(checks.InputDataError) as error:
    _run_in_repo(params, model_dir)
  assert expected in str(error.value)
  assert not _checkpoints(model_dir)


def test_unknown_key_in_config_file_names_file_and_key(tmp_path):
  bad = tmp_path / 'bad.yaml'
  bad.write_text('task:\n  train_data:\n    inptu_path: x.txt\n')
  with pytest.raises(config_parser.ConfigError) as error:
    _tiny_params(tmp_path, config_files=(tu.DEMO_DATA, str(bad)))
  assert str(bad) in str(error.value)
  assert 'task.train_data.inptu_path' in str(error.value)


def test_unknown_key_in_params_override_is_named(tmp_path):
  with pytest.raises(config_parser.ConfigError) as error:
    _tiny_params(tmp_path, extra='trainer.train_stpes=3')
  assert '--params_override' in str(error.value)
  assert 'trainer.train_stpes' in str(error.value)


@pytest.mark.slow
def test_cli_reports_error_without_traceback(tmp_path):
  result = tu.run_train(
      str(tmp_path / 'run'),
      override=tu.tiny_pretrain_override(
          extra='task.train_data.input_path=data/corpus/nope_*.txt'))
  assert result.returncode == 2
  assert "error: input_path pattern 'data/corpus/nope_*.txt' matches no " \
         'files' in result.stderr
  assert 'Traceback' not in result.stderr


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(tmp_path):
  params = _tiny_params(tmp_path)
  strategy = distribute.two_cpu_mirrored_strategy()
  model_dir = str(tmp_path / 'run')
  trainer = _run_in_repo(params, model_dir, strategy=strategy)
  assert strategy.num_replicas_in_sync == 2
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-6')
  loss = float(trainer.last_train_logs['training_loss'])
  assert 0.0 < loss < 20.0


def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def _run_two_workers(model_dir, override):
  ports = _free_ports(2)
  cluster = {'worker': [f'127.0.0.1:{p}' for p in ports]}
  procs = []
  for index in range(2):
    # One thread pool each: two workers on a 2-core machine otherwise starve
    # each other's coordination-service heartbeats.
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS='1',
               TF_NUM_INTEROP_THREADS='1', TF_CONFIG=json.dumps(
                   {'cluster': cluster,
                    'task': {'type': 'worker', 'index': index}}))
    procs.append(subprocess.Popen(
        tu.train_command(model_dir, override=override), cwd=tu.REPO_ROOT,
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
  outputs = []
  try:
    for proc in procs:
      outputs.append(proc.communicate(timeout=300)[0])
  finally:
    for proc in procs:
      if proc.poll() is None:
        proc.kill()
  return [proc.returncode for proc in procs], outputs


@pytest.mark.slow
def test_multi_worker_mirrored_two_processes(tmp_path):
  override = tu.tiny_pretrain_override(
      extra='runtime.distribution_strategy=multi_worker_mirrored')
  model_dir = str(tmp_path / 'run')
  codes, outputs = _run_two_workers(model_dir, override)
  if any(codes) and any('heartbeat timeout' in out for out in outputs):
    # A starved machine (other jobs) can miss TF's coordination heartbeat;
    # that is the environment, not the code: run once more from scratch.
    model_dir = str(tmp_path / 'rerun')
    codes, outputs = _run_two_workers(model_dir, override)
  for code, out in zip(codes, outputs):
    assert code == 0, out[-3000:]
    assert 'final train metrics:' in out
  assert 'MultiWorkerMirroredStrategy' in outputs[0]
  # Only the chief writes into model_dir; the other worker's copy goes to a
  # temporary directory.
  assert tf.train.latest_checkpoint(model_dir).endswith('ckpt-6')
