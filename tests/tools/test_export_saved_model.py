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

"""export_saved_model: every experiment exports; the SavedModels serve alone.

One tiny, randomly initialised model per experiment is built with the
experiment task's `build_model()` and written with `tf.train.Checkpoint`
(as train.py writes `model`); pruning runs get random masks over kernels that
are not zero there, so folding matters. Each is exported once, on first use
(a module-scoped cache, so `-k` limits the work), then a `python -I`
subprocess, in a folder outside the repo and unable to import `token_drop`,
loads the SavedModel and runs its id and text signatures. Its outputs must
equal the Python model's (atol 1e-5) on ids, and on the ids the training
data path (`finetuning_data`, tfm's converters) makes of the same texts,
which the export's `tokenize` signature must reproduce exactly.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from official.nlp.data import classifier_data_lib
from official.nlp.data import tagging_data_lib
from token_drop.testing import train_utils as tu
from token_drop.data import finetuning_data
from token_drop.tasks import narrow_bert as narrow_tasks
from token_drop.tools import export_saved_model as esm

DEMO = os.path.join(tu.REPO_ROOT, 'configs', 'demo')
VOCAB = os.path.join(tu.REPO_ROOT, 'data', 'vocab', 'bert_en_uncased_vocab.txt')
SEQ = 24
BERT = 'task.model.encoder.bert'
ANY = 'task.model.encoder.any'


def _tiny(prefix, layers=2, extra=()):
  return [f'{prefix}.hidden_size=32', f'{prefix}.num_layers={layers}',
          f'{prefix}.num_attention_heads=2',
          f'{prefix}.intermediate_size=64', *extra]


def _demo(*names):
  return [os.path.join(DEMO, name) for name in names]


_NARROW = _tiny(ANY, 3, [f'{ANY}.full_length_layers=1'])
# name: (config files, overrides, export kwargs).
CASES = {
    'finetuning/sentence_prediction': (
        _demo('sentence_prediction_demo.yaml', 'tiny_bert.yaml'),
        _tiny(BERT), {}),
    'finetuning/tagging': (
        _demo('tagging_demo.yaml', 'tiny_bert.yaml'), _tiny(BERT), {}),
    'narrow_bert/sentence_prediction': (
        _demo('sentence_prediction_demo.yaml', 'tiny_narrow_bert.yaml'),
        _NARROW, {}),
    'narrow_bert/tagging': (
        _demo('tagging_demo.yaml', 'tiny_narrow_bert.yaml'), _NARROW, {}),
    'sparse_bert/sentence_prediction': (
        _demo('sparse_bert_sentence_prediction.yaml'),
        _tiny(BERT) + _tiny('task.teacher.model.encoder.bert'), {}),
    'pruning/sentence_prediction': (
        _demo('sentence_prediction_demo.yaml', 'tiny_bert.yaml'),
        _tiny(BERT), {}),
    # tfm's own experiment: no vocab_file in its data config.
    'bert/sentence_prediction': (
        _demo('tiny_bert.yaml'), _tiny(BERT) + ['task.model.num_classes=3'],
        dict(vocab_file=VOCAB, sentence_pair=True)),
    'budget_bert/sentence_prediction': (
        _demo('sentence_prediction_demo.yaml'), _tiny(ANY), {}),
    'budget_bert/tagging': (_demo('tagging_demo.yaml'), _tiny(ANY), {}),
    'bert/pretraining': (
        _demo('pretrain_demo.yaml', 'tiny_bert.yaml'), _tiny(BERT), {}),
    'token_drop_bert/pretraining': (
        _demo('pretrain_demo.yaml', 'tiny_token_drop.yaml'), _tiny(ANY), {}),
    'narrow_bert/pretraining': (
        _demo('pretrain_demo.yaml', 'tiny_narrow_bert.yaml'), _NARROW, {}),
    'pruning/masked_lm': (
        _demo('pretrain_demo.yaml', 'tiny_bert.yaml'), _tiny(BERT), {}),
    'bort/pretraining_distillation': (
        _demo('pretrain_demo.yaml', 'bort_pretraining_distillation.yaml'),
        _tiny(BERT) + _tiny('task.teacher.model.encoder.bert'), {}),
    'budget_bert/pretraining': (
        _demo('pretrain_demo.yaml', 'budget_bert_pretraining.yaml'),
        _tiny(ANY), {}),
}
SENTENCES = ['This coffee is great, I love it!',
             'Terrible. The box arrived broken; the cookies were STALE.',
             "The café's crème brûlée was naïve and un-american?",
             ' '.join(['a very long review of this product'] * 8)]
PAIRS = ['Is it good?', 'Yes.', 'Meh', 'no second sentence here at all']
WORDS = ['Apple opened a new store in New York today',
         '@user heading to see the Yankees tonight !! #baseball',
         'x',
         ' '.join(f'word{i} 123,456' for i in range(12))]  # Truncated.
# Every test needs the exports (minutes of tracing) or starts a process.
pytestmark = pytest.mark.slow
RNG = np.random.default_rng(0)
IDS = RNG.integers(1000, 30000, (3, 16)).astype(np.int32)
MASK = np.ones_like(IDS)
MASK[1, 10:] = 0
IDS[1, 10:] = 0
TYPES = np.zeros_like(IDS)
TYPES[2, 8:] = 1


def _kind(name):
  return ('tagging' if name.endswith('tagging') else 'encoder'
          if 'pretraining' in name or 'masked_lm' in name else
          'sentence_prediction')


def _id_inputs():
  return dict(input_word_ids=IDS, input_mask=MASK, input_type_ids=TYPES)


def _read_records(path, seq_length, names):
  features = {n: tf.io.FixedLenFeature([seq_length], tf.int64) for n in names}
  features.update(sub_sentence_id=tf.io.FixedLenFeature([], tf.int64,
                                                        default_value=0))
  return [tf.io.parse_single_example(r, features)
          for r in tf.data.TFRecordDataset(path)]


def training_ids_sentences(tmp, texts, texts_b=None):
  """Ids the training data path makes of `texts` (classifier_data_lib)."""
  examples = [classifier_data_lib.InputExample(
      guid=str(i), text_a=t, text_b=texts_b[i] if texts_b else None,
      label='0') for i, t in enumerate(texts)]
  path = str(tmp / 'sentences.tfrecord')
  finetuning_data.write_classification(examples, ['0', '1'], VOCAB, True,
                                       SEQ, path)
  rows = _read_records(path, SEQ, ('input_ids', 'input_mask', 'segment_ids'))
  return {k: np.stack([r[src].numpy() for r in rows]).astype(np.int32)
          for k, src in (('input_word_ids', 'input_ids'),
                         ('input_mask', 'input_mask'),
                         ('input_type_ids', 'segment_ids'))}


def training_ids_words(tmp, texts):
  """First records and labelled positions of `texts` as tagging data."""
  examples = []
  for i, text in enumerate(texts):
    example = tagging_data_lib.InputExample(sentence_id=i)
    for word in text.split():
      example.add_word_and_label_id(word, 0)
    examples.append(example)
  path = str(tmp / 'words.tfrecord')
  finetuning_data.write_tagging(examples, VOCAB, True, SEQ, path)
  rows = [r for r in _read_records(
      path, SEQ, ('input_ids', 'input_mask', 'segment_ids', 'label_ids'))
          if int(r['sub_sentence_id']) == 0]
  assert len(rows) == len(texts)
  get = lambda key: np.stack([r[key].numpy() for r in rows]).astype(np.int32)
  return dict(input_word_ids=get('input_ids'), input_mask=get('input_mask'),
              input_type_ids=get('segment_ids')), get('label_ids')


def _python_outputs(name, task, model, tmp):
  """The Python model's outputs on IDS and on the training path's text ids."""
  kind = _kind(name)
  out = {}
  if kind == 'encoder':
    encoder = model.checkpoint_items['encoder']
    run = lambda x: {k: encoder(x, training=False)[k].numpy()
                     for k in ('sequence_output', 'pooled_output')}
    out['ids'] = run(_id_inputs())
    text_ids = training_ids_sentences(tmp, SENTENCES)
    out['text'] = run(text_ids)
    out['text_ids'] = text_ids
  elif kind == 'sentence_prediction':
    out['ids'] = model(_id_inputs(), training=False).numpy()
    pair = 'sentence_pair' in CASES[name][2]
    text_ids = training_ids_sentences(tmp, SENTENCES,
                                      PAIRS if pair else None)
    out['text'] = model(text_ids, training=False).numpy()
    out['text_ids'] = text_ids
  else:
    out['ids'] = model(_id_inputs(), training=False)['logits'].numpy()
    text_ids, labels = training_ids_words(tmp, WORDS)
    inputs = dict(text_ids)
    if callable(getattr(task, 'narrow_length', None)):
      # As the task's input pipeline feeds it in training and evaluation.
      inputs['narrow_positions'], _ = narrow_tasks.labelled_positions(
          labels, SEQ)
    logits = model(inputs, training=False)['logits'].numpy()
    words = []
    for row, label in zip(logits, labels):
      words.append(row[label >= 0])
    out['text'] = words
    out['text_ids'] = text_ids
    out['labels'] = labels
  return out


def _build_case(name, root):
  files, override, kwargs = CASES[name]
  folder = root / name.replace('/', '_')
  folder.mkdir()
  params = esm.parse_config(name, files, ','.join(override))
  task, model = esm.build_task_model(params)
  kind = esm.task_kind(task)
  model(esm._dummy_inputs(kind), training=False)  # pylint: disable=protected-access
  masks = getattr(model, 'pruning_masks', None)
  if masks is not None:
    rng = np.random.default_rng(1)
    for mask in masks.masks:
      mask.assign((rng.random(mask.shape) < 0.5).astype(np.float32))
  tf.train.Checkpoint(model=model).save(str(folder / 'run' / 'ckpt'))
  if masks is not None:
    # Training keeps kernels zero where masked: the model it evaluates.
    masks.apply_masks()
  exported = esm.export(
      name, str(folder / 'run'), str(folder / 'saved_model'),
      config_files=files, params_override=','.join(override),
      seq_length=SEQ, **kwargs)
  return dict(exported=exported, python=_python_outputs(name, task, model,
                                                        folder),
              masks=masks)


class _Cases:
  """Builds, exports and serves each case once, on first use.

  Lazy, so that `-k` runs only the selected experiments' exports.
  """

  def __init__(self, root):
    self.root = root
    self._cases = {}

  def __getitem__(self, name):
    if name not in self._cases:
      try:
        case = _build_case(name, self.root)
        case['served'] = _serve(self.root, name, case)
      except Exception as e:  # pylint: disable=broad-except
        case = e  # Fails this experiment's tests only.
      self._cases[name] = case
    if isinstance(self._cases[name], Exception):
      raise self._cases[name]
    return self._cases[name]


@pytest.fixture(scope='module')
def cases(tmp_path_factory):
  return _Cases(tmp_path_factory.mktemp('export_saved_model'))


# Runs with `python -I` in a folder outside the repo, with token_drop and tfm
# made unimportable: an editable install (as in CI) puts both on every path.
SERVE_SCRIPT = textwrap.dedent('''
    import importlib.abc, json, sys

    class _Blocked(importlib.abc.MetaPathFinder):
      def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('token_drop', 'official'):
          raise ImportError(name + ' is blocked: not needed to serve')
        return None

    sys.meta_path.insert(0, _Blocked())
    import numpy as np
    import tensorflow as tf
    import tensorflow_text  # The tokenizer ops.
    job = json.load(open(sys.argv[1]))
    ids = {k: tf.constant(np.array(v, np.int32)) for k, v in job['ids'].items()}
    for name, case in job['cases'].items():
      model = tf.saved_model.load(case['path'])
      out = {}
      for key, value in model.signatures['serving_default'](**ids).items():
        out['ids/' + key] = value.numpy()
      texts = {k: tf.constant(v) for k, v in case['texts'].items()}
      for sig in ('serve_text', 'tokenize'):
        for key, value in model.signatures[sig](**texts).items():
          out[sig + '/' + key] = value.numpy()
      np.savez(case['out'], **out)
    assert not any(m.split('.')[0] in ('token_drop', 'official')
                   for m in sys.modules), 'token_drop or tfm was imported'
    print('served', len(job['cases']))
''')


def _serve(root, name, case):
  """Outputs of the SavedModel's signatures, from a process without us."""
  kind = _kind(name)
  texts = dict(text=WORDS if kind == 'tagging' else SENTENCES)
  if 'sentence_pair' in CASES[name][2]:
    texts['text_b'] = PAIRS
  stem = name.replace('/', '_')
  out = str(root / f'{stem}.npz')
  job = dict(ids={k: v.tolist() for k, v in _id_inputs().items()},
             cases={name: dict(path=case['exported'].output_dir,
                               texts=texts, out=out)})
  (root / f'{stem}.json').write_text(json.dumps(job))
  (root / 'serve.py').write_text(SERVE_SCRIPT)
  outside = root / 'outside'
  outside.mkdir(exist_ok=True)
  env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
  result = subprocess.run(
      [sys.executable, '-I', str(root / 'serve.py'),
       str(root / f'{stem}.json')],
      cwd=str(outside), env=env, capture_output=True, text=True,
      timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:] + result.stdout
  assert 'served 1' in result.stdout
  return dict(np.load(out, allow_pickle=True))  # Strings: object arrays.


@pytest.mark.parametrize('name', sorted(CASES))
def test_saved_model_serves_ids_and_text_like_the_python_model(cases, name):
  case = cases[name]
  python, got = case['python'], case['served']
  kind = _kind(name)
  # The text signatures tokenize exactly as the training data path does.
  for key, want in python['text_ids'].items():
    np.testing.assert_array_equal(got[f'tokenize/{key}'], want, err_msg=key)
  if kind == 'encoder':
    for key in ('sequence_output', 'pooled_output'):
      np.testing.assert_allclose(got[f'ids/{key}'], python['ids'][key],
                                 atol=1e-5)
      np.testing.assert_allclose(got[f'serve_text/{key}'],
                                 python['text'][key], atol=1e-5)
    np.testing.assert_array_equal(got['ids/default'],
                                  got['ids/pooled_output'])
  elif kind == 'sentence_prediction':
    np.testing.assert_allclose(got['ids/outputs'], python['ids'], atol=1e-5)
    np.testing.assert_allclose(got['serve_text/logits'], python['text'],
                               atol=1e-5)
    np.testing.assert_allclose(got['serve_text/probabilities'],
                               tf.nn.softmax(python['text']).numpy(),
                               atol=1e-6)
  else:
    np.testing.assert_allclose(got['ids/logits'], python['ids'], atol=1e-5)
    # Word positions are the training records' labelled (first sub-word)
    # positions.
    for row, label in zip(got['tokenize/word_positions'], python['labels']):
      kept = row[row >= 0]
      np.testing.assert_array_equal(kept, np.flatnonzero(label >= 0))
    for i, text in enumerate(WORDS):
      n_words = len(text.split())
      want = python['text'][i]
      tag_ids = got['serve_text/tag_ids'][i]
      assert list(got['serve_text/words'][i][:n_words]) == [
          w.encode() for w in text.split()]
      np.testing.assert_allclose(got['serve_text/logits'][i][:len(want)],
                                 want, atol=1e-5)
      np.testing.assert_array_equal(tag_ids[:len(want)],
                                    np.argmax(want, -1))
      # Words past the sequence are not tagged; padding neither.
      assert (tag_ids[len(want):] == -1).all()
      assert (got['serve_text/tags'][i][len(want):] == b'').all()
    assert (got['serve_text/tag_ids'][3] == -1).any()  # The long text.


def test_tagging_signature_names_the_tags(cases):
  got = cases['finetuning/tagging']['served']
  params = esm.parse_config('finetuning/tagging',
                            CASES['finetuning/tagging'][0])
  class_names = np.array([n.encode() for n in params.task.class_names])
  ids = got['serve_text/tag_ids']
  np.testing.assert_array_equal(got['serve_text/tags'][ids >= 0],
                                class_names[ids[ids >= 0]])


@pytest.mark.parametrize('name', ['pruning/sentence_prediction',
                                  'sparse_bert/sentence_prediction',
                                  'pruning/masked_lm'])
def test_pruned_models_export_dense_kernels_with_zeros(cases, name):
  case = cases[name]
  exported = case['exported']
  masks = case['masks']
  assert exported.folded and len(exported.folded) == len(masks.masks)
  loaded = tf.saved_model.load(exported.output_dir)
  variables = {v.name.split(':')[0]: v.numpy() for v in loaded.model.variables}
  assert not any('pruning_mask' in n for n in variables), sorted(variables)
  want = {k.name.split(':')[0]: m.numpy()
          for k, m in zip(masks.kernels, masks.masks)}
  found = [n for n in want if n in variables]
  assert found, (sorted(want)[:3], sorted(variables)[:3])
  for n in found:
    np.testing.assert_array_equal(variables[n] == 0, want[n] == 0)


def test_token_drop_encoder_export_holds_no_importance_table(cases):
  exported = cases['token_drop_bert/pretraining']['exported']
  assert exported.kind == 'encoder'
  loaded = tf.saved_model.load(exported.output_dir)
  assert loaded.model.variables
  assert not any('importance' in v.name for v in loaded.model.variables)


def test_vocabulary_is_an_asset(cases):
  exported = cases['finetuning/sentence_prediction']['exported']
  assert os.path.exists(os.path.join(exported.output_dir, 'assets',
                                     os.path.basename(VOCAB)))


def _checkpoint_only(root, name):
  """A folder with `run/`: a random checkpoint of the experiment's model."""
  files, override, _ = CASES[name]
  params = esm.parse_config(name, files, ','.join(override))
  task, model = esm.build_task_model(params)
  model(esm._dummy_inputs(esm.task_kind(task)), training=False)  # pylint: disable=protected-access
  tf.train.Checkpoint(model=model).save(str(root / 'run' / 'ckpt'))
  return root


def _cli(*args, cwd=tu.REPO_ROOT):
  return subprocess.run(
      [sys.executable, '-m', 'token_drop.tools.export_saved_model', *args],
      cwd=cwd, capture_output=True, text=True, timeout=600, check=False)


def _one_line_error(result, *fragments):
  assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
  lines = [l for l in result.stderr.splitlines() if l.startswith('error: ')]
  assert len(lines) == 1, result.stderr[-2000:]
  assert 'Traceback' not in result.stderr
  for fragment in fragments:
    assert fragment in lines[0], lines[0]


def test_cli_bad_checkpoint_is_a_one_line_error(tmp_path):
  result = _cli('--experiment=finetuning/sentence_prediction',
                f'--checkpoint={tmp_path / "nothing"}',
                f'--output_dir={tmp_path / "out"}')
  _one_line_error(result, '--checkpoint', 'nothing')
  assert not (tmp_path / 'out').exists()


def test_cli_classifier_export_of_pretraining_is_a_one_line_error(tmp_path):
  folder = _checkpoint_only(tmp_path, 'bert/pretraining')
  files, override, _ = CASES['bert/pretraining']
  result = _cli('--experiment=bert/pretraining',
                *[f'--config_file={f}' for f in files],
                f'--params_override={",".join(override)}',
                f'--checkpoint={folder / "run"}', '--export=classifier',
                f'--output_dir={folder / "classifier"}')
  _one_line_error(result, 'pretraining experiment', '--export=encoder')


def test_cli_checkpoint_of_another_model_is_a_one_line_error(tmp_path):
  folder = _checkpoint_only(tmp_path, 'finetuning/tagging')
  files, override, _ = CASES['finetuning/sentence_prediction']
  result = _cli('--experiment=finetuning/sentence_prediction',
                *[f'--config_file={f}' for f in files],
                f'--params_override={",".join(override)}',
                f'--checkpoint={folder / "run"}',
                f'--output_dir={folder / "wrong"}')
  _one_line_error(result, 'does not fit')
