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

r"""Exports a trained model as a SavedModel that serves token ids and raw text.

  python -m token_drop.tools.export_saved_model \
    --experiment=finetuning/sentence_prediction \
    --config_file=configs/demo/sentence_prediction_demo.yaml \
    --config_file=configs/demo/tiny_bert.yaml \
    --checkpoint=/tmp/sentence_prediction_demo \
    --output_dir=/tmp/sentence_prediction_saved_model

The config is built as train.py builds it (`--experiment`, repeatable
`--config_file`, `--params_override`, same error messages); when no
`--config_file` is given and the `--checkpoint` folder holds the run's
params.yaml, that file is the config. The model is the experiment task's
`build_model()`, restored from `--checkpoint` (a model_dir or a checkpoint
prefix); pruning masks are folded into the kernels (the SavedModel holds plain
dense kernels with zeros and no masks), and distillation teachers are not
built from their checkpoints nor exported.

What is exported (`--export`, default `auto`):

* sentence prediction tasks (`finetuning/sentence_prediction`, tfm's
  `bert/sentence_prediction`, `narrow_bert/`, `sparse_bert/`, `pruning/`,
  `budget_bert/`): tfm's `serving_modules.SentencePrediction` signatures
  `serving_default` (`serve`: input_word_ids, input_mask, input_type_ids ->
  `outputs`, the logits) and `serve_examples` (tf.Example of ids), plus
  `serve_text`: a batch of strings (`text`, and `text_b`
  for sentence pairs) -> `logits`, `probabilities` (classification only).
  NarrowBERT classifiers keep their [CLS]-only narrow layers.
* tagging tasks (`finetuning/tagging`, `narrow_bert/tagging`, ...): tfm's
  `serving_modules.Tagging` (`serving_default` -> `logits` per token,
  `serve_examples`) plus `serve_text`: a batch of strings, split on
  whitespace into words, tokenized word by word as the training data is
  (`token_drop.data.finetuning_data`, first sub-word labelling) -> per word
  `tag_ids`, `tags` (label names) and `logits`, padded to the longest text
  with -1 / '' / 0. Words past `--seq_length - 2` word pieces are not tagged
  (-1, ''): training splits such sentences, serving truncates them.
  NarrowBERT taggers run their narrow layers at the words' first sub-words.
* pretraining experiments, or `--export=encoder` for any experiment: the
  encoder, TF Hub BERT style: `serving_default` on ids and `serve_text` on
  strings -> `sequence_output`, `pooled_output` and `default` (the pooled
  output). Token dropping is a training method: the exported encoder runs
  every token and holds no importance table.

Every text signature tokenizes inside the graph with tensorflow-text's
BertTokenizer (tfm's `layers.BertTokenizer` and `BertPackInputs`); the
vocabulary is exported as an asset. It comes from `--vocab_file` or the
task's `train_data.vocab_file` (`do_lower_case` likewise). All signatures
take any batch size; the text ones pack to `--seq_length` (default: the
task data's seq_length). The `tokenize` signature returns the packed ids the
text signatures feed the model.

The SavedModel needs TensorFlow and tensorflow-text (for its ops) to load,
not this package nor tfm:

  import tensorflow as tf, tensorflow_text  # registers the tokenizer ops
  model = tf.saved_model.load('/tmp/sentence_prediction_saved_model')
  model.signatures['serve_text'](text=tf.constant(['Great coffee!']))

Bad flags, configs and checkpoints end the command with one `error: ...`
line on stderr and exit code 2.
"""

import contextlib
import dataclasses
import io
import os
from typing import Any, Dict, List, Optional, Sequence

from absl import flags
from absl import logging
import tensorflow as tf
import tf_keras

# pylint: disable=unused-import
# Registers this project's and tfm's experiments.
import experiments  # noqa: F401
# pylint: enable=unused-import
from official.core import base_task
from official.core import config_definitions as cfg
from official.core import export_base
from official.core import task_factory
from official.core import train_utils
from official.modeling.hyperparams import base_config
from official.nlp.modeling import layers as nlp_layers
from official.nlp.serving import serving_modules
from official.nlp.tasks import masked_lm
from official.nlp.tasks import sentence_prediction
from official.nlp.tasks import tagging
from token_drop.core import checkpoints
from token_drop.core import config_parser
from token_drop.core import errors
from token_drop.tools import export_hf

EXPORT_KINDS = ('auto', 'classifier', 'encoder')


class ExportError(errors.UserError):
  """The export cannot be done as asked (one-line message)."""


def _one_line(message: str) -> str:
  return ' '.join(str(message).split())


class _TextTokenizer(tf.Module):
  """tfm's BertTokenizer layer with the special token ids as Python ints."""

  def __init__(self, vocab_file: str, lower_case: bool):
    super().__init__()
    self.layer = nlp_layers.BertTokenizer(vocab_file=vocab_file,
                                          lower_case=lower_case)
    special = self.layer.get_special_tokens_dict()
    missing = [k for k in ('start_of_sequence_id', 'end_of_segment_id',
                           'padding_id') if k not in special]
    if missing or '[UNK]' not in _read_tokens(vocab_file):
      raise ExportError(
          f'vocab_file {vocab_file!r} lacks [CLS], [SEP], [PAD] or [UNK].')
    self.special = special
    self.unk_id = _read_tokens(vocab_file).index('[UNK]')


def _read_tokens(vocab_file: str) -> List[str]:
  with tf.io.gfile.GFile(vocab_file) as f:
    return [line.rstrip('\n') for line in f]


def _pack(tokenizer: _TextTokenizer, segments, seq_length: int):
  """Packs [batch, (pieces)] segments into BERT inputs of `seq_length`."""
  packed = nlp_layers.BertPackInputs.bert_pack_inputs(
      segments, seq_length,
      start_of_sequence_id=tokenizer.special['start_of_sequence_id'],
      end_of_segment_id=tokenizer.special['end_of_segment_id'],
      padding_id=tokenizer.special['padding_id'])
  return {k: tf.cast(v, tf.int32) for k, v in packed.items()}


def _track_variables_only(module: export_base.ExportModule) -> None:
  """Makes `module.model` a plain holder of the Keras model's variables.

  The serving functions keep calling the Keras model; the SavedModel then
  holds its variables (under `model.variables`) and the traced signatures,
  without Keras's own serialization of every layer's call (which would trace
  each layer again, training mode included, and takes most of the export
  time). The Keras model stays available as `module.keras_model`.
  """
  keras_model = module.model
  del module.model
  object.__setattr__(module, 'keras_model', keras_model)
  module.model = tf.train.Checkpoint(variables=list(keras_model.variables))


def _string_spec(name: str) -> tf.TensorSpec:
  return tf.TensorSpec(shape=[None], dtype=tf.string, name=name)


def _pack_texts(tokenizer: _TextTokenizer, texts, seq_length: int):
  """Tokenizes [batch] strings (one segment each) and packs them."""
  segments = [tf.cast(tokenizer.layer(t).merge_dims(1, -1), tf.int32)
              for t in texts]
  return _pack(tokenizer, segments, seq_length)


class _TextSignatures:
  """Signatures of `serve_text` and `tokenize` beside a tfm module's own.

  Mixed in before a tfm serving module, which makes the signatures of the
  other function keys; these two take `_text_specs()`.
  """

  def _text_specs(self) -> Dict[str, tf.TensorSpec]:
    return dict(text=_string_spec('text'))

  def get_inference_signatures(self, function_keys: Dict[str, str]):
    own = {k: v for k, v in function_keys.items()
           if k in ('serve_text', 'tokenize')}
    signatures = dict(super().get_inference_signatures(
        {k: v for k, v in function_keys.items() if k not in own}))
    for key, name in own.items():
      signatures[name] = getattr(self, key).get_concrete_function(
          **self._text_specs())
    return signatures


class SentencePrediction(_TextSignatures, serving_modules.SentencePrediction):
  """tfm's sentence prediction module plus `serve_text` and `tokenize`."""

  @dataclasses.dataclass
  class Params(serving_modules.SentencePrediction.Params):
    """Export parameters of this module."""
    # Classification (softmax probabilities) unless 1 (regression).
    num_classes: int = 2
    # The text signatures take `text` and `text_b`.
    sentence_pair: bool = False

  def __init__(self, params, model: tf_keras.Model, inference_step=None):
    super().__init__(params, model, inference_step)
    _track_variables_only(self)
    self.tokenizer = _TextTokenizer(params.vocab_file, params.lower_case)

  @tf.function(autograph=False)
  def tokenize(self, text, text_b=None) -> Dict[str, tf.Tensor]:
    texts = [text] if text_b is None else [text, text_b]
    return _pack_texts(self.tokenizer, texts,
                       self.params.parse_sequence_length)

  @tf.function(autograph=False)
  def serve_text(self, text, text_b=None) -> Dict[str, tf.Tensor]:
    # `serve` on [batch, seq_length]: the trace serve_examples made too.
    logits = self.serve(**self.tokenize(text, text_b))['outputs']
    outputs = dict(logits=logits)
    if self.params.num_classes > 1:
      outputs['probabilities'] = tf.nn.softmax(logits)
    return outputs

  def _text_specs(self):
    specs = dict(text=_string_spec('text'))
    if self.params.sentence_pair:
      specs['text_b'] = _string_spec('text_b')
    return specs


def word_pieces(tokenizer: _TextTokenizer, text, seq_length: int):
  """Whitespace words of `text` as training tokenizes them for tagging.

  As `tagging_data_lib._tokenize_example` does with each word: its word
  pieces, or [UNK] when it has none or more than `seq_length - 2`; the words
  of a text are kept while their pieces fit in `seq_length - 2` (training
  starts a new record at the first word that does not fit).

  Args:
    tokenizer: The text tokenizer.
    text: [batch] strings.
    seq_length: The packed sequence length.

  Returns:
    (pieces [batch, (pieces)] int32 of the kept words, words [batch, (words)]
    strings, kept [batch, max_words] bool (false for padding), first
    [batch, max_words] int32: the position of each word's first piece in the
    packed sequence).
  """
  room = seq_length - 2
  words = tf.strings.split(text)
  pieces = tf.cast(tokenizer.layer(words.flat_values).merge_dims(1, -1),
                   tf.int32)
  lengths = pieces.row_lengths()
  unk = (lengths == 0) | (lengths > room)
  # Append one [UNK] to every word; keep either the word's pieces or it.
  padded = tf.concat([pieces, tf.RaggedTensor.from_row_lengths(
      tf.fill(tf.shape(lengths), tokenizer.unk_id),
      tf.ones_like(lengths))], axis=1)
  start = tf.where(unk, lengths, 0)
  size = tf.where(unk, tf.ones_like(lengths), lengths)
  index = tf.ragged.range(padded.row_lengths())
  pieces = tf.ragged.boolean_mask(
      padded, (index >= tf.expand_dims(start, 1)) &
      (index < tf.expand_dims(start + size, 1)))
  sizes = words.with_flat_values(tf.cast(size, tf.int32)).to_tensor()
  ends = tf.math.cumsum(sizes, axis=1)
  valid = tf.sequence_mask(words.row_lengths(), tf.shape(sizes)[1])
  kept = valid & (ends <= room)
  first = ends - sizes + 1  # After [CLS].
  by_text = tf.RaggedTensor.from_row_lengths(pieces, words.row_lengths())
  kept_ragged = tf.RaggedTensor.from_tensor(kept, lengths=words.row_lengths())
  kept_pieces = tf.ragged.boolean_mask(by_text, kept_ragged).merge_dims(1, 2)
  return kept_pieces, words, kept, first


class Tagging(_TextSignatures, serving_modules.Tagging):
  """tfm's tagging module plus `serve_text` (tags per whitespace word)."""

  @dataclasses.dataclass
  class Params(serving_modules.Tagging.Params):
    """Export parameters of this module."""
    vocab_file: str = ''
    lower_case: bool = True
    class_names: Optional[List[str]] = None
    # NarrowBERT taggers: run the narrow layers at the words' first pieces.
    narrow_positions: bool = False

  def __init__(self, params, model: tf_keras.Model, inference_step=None):
    super().__init__(params, model, inference_step)
    _track_variables_only(self)
    self.tokenizer = _TextTokenizer(params.vocab_file, params.lower_case)
    self._class_names = tf.constant(list(params.class_names))

  def _tokenize(self, text):
    seq_length = self.params.parse_sequence_length
    pieces, words, kept, first = word_pieces(self.tokenizer, text,
                                             seq_length)
    inputs = _pack(self.tokenizer, [pieces], seq_length)
    return inputs, words, kept, first

  @tf.function(autograph=False)
  def tokenize(self, text) -> Dict[str, tf.Tensor]:
    inputs, _, kept, first = self._tokenize(text)
    inputs['word_positions'] = tf.where(kept, first, -1)
    return inputs

  @tf.function(autograph=False)
  def serve_text(self, text) -> Dict[str, tf.Tensor]:
    inputs, words, kept, first = self._tokenize(text)
    positions = tf.where(kept, first, 0)
    if self.params.narrow_positions:
      # Padding slots point at [CLS]: a narrow position's output does not
      # depend on the other narrow positions.
      inputs['narrow_positions'] = positions
    logits = self.inference_step(inputs)['logits']
    logits = tf.gather(logits, positions, batch_dims=1)
    logits = tf.where(kept[..., tf.newaxis], logits, tf.zeros_like(logits))
    tag_ids = tf.where(kept, tf.argmax(logits, -1, output_type=tf.int32), -1)
    tags = tf.where(kept, tf.gather(self._class_names,
                                    tf.maximum(tag_ids, 0)), '')
    return dict(tag_ids=tag_ids, tags=tags, logits=logits,
                words=words.to_tensor(''))


class Encoder(export_base.ExportModule):
  """An encoder, TF Hub BERT style: sequence and pooled outputs."""

  @dataclasses.dataclass
  class Params(base_config.Config):
    """Export parameters of this module."""
    parse_sequence_length: Optional[int] = None
    vocab_file: str = ''
    lower_case: bool = True

  def __init__(self, params, model: tf_keras.layers.Layer):
    super().__init__(params, model, inference_step=_encoder_inference)
    _track_variables_only(self)
    self.tokenizer = _TextTokenizer(params.vocab_file, params.lower_case)

  def _outputs(self, inputs):
    outputs = self.inference_step(inputs)
    return dict(sequence_output=outputs['sequence_output'],
                pooled_output=outputs['pooled_output'],
                default=outputs['pooled_output'])

  @tf.function(autograph=False)
  def serve(self, input_word_ids, input_mask, input_type_ids):
    return self._outputs(dict(input_word_ids=input_word_ids,
                              input_mask=input_mask,
                              input_type_ids=input_type_ids))

  @tf.function(autograph=False)
  def tokenize(self, text, text_b=None) -> Dict[str, tf.Tensor]:
    texts = [text] if text_b is None else [text, text_b]
    return _pack_texts(self.tokenizer, texts,
                       self.params.parse_sequence_length)

  @tf.function(autograph=False)
  def serve_text(self, text):
    return self._outputs(self.tokenize(text))

  @tf.function(autograph=False)
  def serve_text_pair(self, text, text_b):
    return self._outputs(self.tokenize(text, text_b))

  def get_inference_signatures(self, function_keys: Dict[str, str]):
    ids = {name: tf.TensorSpec([None, None], tf.int32, name=name)
           for name in ('input_word_ids', 'input_mask', 'input_type_ids')}
    specs = dict(serve=ids, serve_text=dict(text=_string_spec('text')),
                 serve_text_pair=dict(text=_string_spec('text'),
                                      text_b=_string_spec('text_b')),
                 tokenize=dict(text=_string_spec('text')))
    signatures = {}
    for key, name in function_keys.items():
      if key not in specs:
        raise ValueError(f'Invalid function key {key!r}; valid keys: '
                         f'{sorted(specs)}.')
      signatures[name] = getattr(self, key).get_concrete_function(
          **specs[key])
    return signatures


def _encoder_inference(inputs, model):
  return model(inputs, training=False)


@dataclasses.dataclass
class Exported:
  """What `export` wrote.

  Attributes:
    output_dir: The SavedModel folder.
    kind: 'sentence_prediction', 'tagging' or 'encoder'.
    signatures: The signature names.
    model: The exported Keras model (restored, masks folded).
    folded: Names of the kernels whose pruning masks were folded.
    seq_length: The text signatures' sequence length.
  """
  output_dir: str
  kind: str
  signatures: List[str]
  model: Any
  folded: List[str]
  seq_length: int


def parse_config(experiment: str, config_files: Sequence[str] = (),
                 params_override: str = '') -> cfg.ExperimentConfig:
  """The experiment config, stacked and checked as train.py does."""
  options = train_utils.ParseConfigOptions(
      experiment=experiment, config_file=list(config_files),
      params_override=params_override or '')
  # Not a training mode: training-only settings (e.g. tfm's default
  # trainer.train_steps=0 of bert/sentence_prediction) are not checked.
  options.mode = 'export'
  try:
    return config_parser.parse_configuration(options)
  except (KeyError, LookupError) as e:
    raise ExportError(
        f'--experiment={experiment!r} is not a registered experiment '
        f'({_one_line(e)}).') from None


def task_kind(task: base_task.Task) -> str:
  """'sentence_prediction', 'tagging' or 'pretraining'."""
  if isinstance(task, sentence_prediction.SentencePredictionTask):
    return 'sentence_prediction'
  if isinstance(task, tagging.TaggingTask):
    return 'tagging'
  if isinstance(task, masked_lm.MaskedLMTask):
    return 'pretraining'
  raise ExportError(
      f'task {type(task).__name__} has no SavedModel export here; exported '
      'are sentence prediction, tagging and masked-LM pretraining tasks.')


def _without_teacher(task_config):
  """A distillation task config whose teacher is not read (not exported)."""
  teacher = getattr(task_config, 'teacher', None)
  if teacher is None or not hasattr(teacher, 'allow_untrained'):
    return task_config
  return task_config.replace(
      teacher=teacher.replace(init_checkpoint='', allow_untrained=True))


def build_task_model(params: cfg.ExperimentConfig):
  """The experiment task and its `build_model()` (teacher not restored)."""
  task_config = _without_teacher(params.task)
  task = task_factory.get_task(task_config)
  quiet = task_config is not params.task
  with contextlib.ExitStack() as stack:
    if quiet:
      # The untrained-teacher warning concerns training only.
      stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
      level = logging.get_verbosity()
      logging.set_verbosity(logging.ERROR)
      stack.callback(logging.set_verbosity, level)
    model = task.build_model()
  return task, model


def _dummy_inputs(kind: str):
  ids = tf.zeros([1, 8], tf.int32)
  inputs = dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
                input_type_ids=ids)
  if kind == 'pretraining':
    inputs['masked_lm_positions'] = tf.zeros([1, 1], tf.int32)
  return inputs


def restore(model, checkpoint_path: str, kind: str) -> None:
  """Reads the model (or, lacking a `model` item, its encoder)."""
  if not model.built or not model.weights:
    model(_dummy_inputs(kind), training=False)
  items = export_hf.root_items(checkpoint_path)
  if 'model' in items:
    target = dict(model=model)
  elif kind == 'pretraining' and 'encoder' in items:
    target = dict(encoder=model.checkpoint_items['encoder'])
  else:
    raise ExportError(
        f'--checkpoint {checkpoint_path}: no `model` item (root items: '
        f'{items}); expected a checkpoint written by train.py for this '
        'experiment.')
  try:
    status = tf.train.Checkpoint(**target).read(checkpoint_path)
    status.expect_partial().assert_existing_objects_matched()
  except (AssertionError, ValueError, tf.errors.InvalidArgumentError) as e:
    raise ExportError(
        f'--checkpoint {checkpoint_path}: its {sorted(target)[0]} does not '
        f'fit the experiment\'s model (check --experiment, --config_file and '
        f'--params_override): {_one_line(e)[:400]}') from None


def fold_pruning_masks(model) -> List[str]:
  """Multiplies the pruned kernels by their masks and drops the masks.

  Returns:
    The names of the folded kernels.
  """
  masks = getattr(model, 'pruning_masks', None)
  if masks is None:
    return []
  masks.apply_masks()
  names = [k.name.split(':')[0] for k in masks.kernels]
  # The SavedModel then holds plain kernels (with zeros), no mask variables.
  delattr(model, 'pruning_masks')
  return names


def _data_value(task_config, key: str):
  for name in ('train_data', 'validation_data'):
    value = getattr(getattr(task_config, name, None), key, None)
    if value not in (None, ''):
      return value
  return None


def text_settings(task_config, vocab_file: Optional[str],
                  do_lower_case: Optional[bool]):
  """(vocab_file, lower_case) from the flags, else from the task data."""
  source = '--vocab_file'
  if not vocab_file:
    vocab_file = _data_value(task_config, 'vocab_file')
    source = 'task.train_data.vocab_file'
  if not vocab_file:
    raise ExportError(
        'the text signatures need the model\'s WordPiece vocabulary: pass '
        '--vocab_file (the task data config has no vocab_file).')
  if not tf.io.gfile.exists(vocab_file):
    raise ExportError(f'{source}={vocab_file!r} does not exist (relative '
                      f'paths are read from {os.getcwd()}).')
  if do_lower_case is None:
    do_lower_case = _data_value(task_config, 'do_lower_case')
  return vocab_file, True if do_lower_case is None else bool(do_lower_case)


def _seq_length(task_config, seq_length: Optional[int]) -> int:
  seq_length = seq_length or _data_value(task_config, 'seq_length') or 128
  if seq_length < 3:
    raise ExportError(f'--seq_length={seq_length}: must be at least 3.')
  return int(seq_length)


def _check_output_dir(output_dir: str) -> None:
  """Refuses to replace a folder that is not empty nor a SavedModel."""
  if not output_dir:
    raise ExportError('--output_dir is not set.')
  if tf.io.gfile.isdir(output_dir) and tf.io.gfile.listdir(output_dir) and (
      not tf.io.gfile.exists(os.path.join(output_dir, 'saved_model.pb'))):
    raise ExportError(
        f'--output_dir={output_dir!r} exists and is not a SavedModel; give '
        'a new folder (an earlier export there is replaced).')


def _sentence_pair(task_config, sentence_pair: Optional[bool]) -> bool:
  if sentence_pair is not None:
    return sentence_pair
  return bool(_data_value(task_config, 'text_b_column'))


def export(experiment: str, checkpoint: str, output_dir: str,
           config_files: Sequence[str] = (), params_override: str = '',
           seq_length: Optional[int] = None, vocab_file: Optional[str] = None,
           do_lower_case: Optional[bool] = None, what: str = 'auto',
           sentence_pair: Optional[bool] = None) -> Exported:
  """Exports an experiment's trained model as a SavedModel.

  Args:
    experiment: A registered experiment name.
    checkpoint: A model_dir (its latest checkpoint) or a checkpoint prefix.
    output_dir: The SavedModel folder (written, replaced if present).
    config_files: Config files stacked on the experiment, in order; when
      empty, the run's params.yaml beside the checkpoint, if any.
    params_override: A train.py-style override string.
    seq_length: Sequence length of the text signatures (default: the task
      data's).
    vocab_file: WordPiece vocabulary (default: the task data's).
    do_lower_case: Lower-case text (default: the task data's, else True).
    what: 'auto' (the task's model; the encoder for pretraining), 'classifier'
      (the task's model; an error for pretraining) or 'encoder'.
    sentence_pair: Sentence prediction text signatures take two strings
      (default: when the data config has a text_b_column).

  Returns:
    An `Exported`.

  Raises:
    ExportError, config_parser.ConfigError, checks.InputDataError: bad
      arguments, config or checkpoint.
  """
  if what not in EXPORT_KINDS:
    raise ExportError(f'--export={what!r}: expected one of '
                      f'{", ".join(EXPORT_KINDS)}.')
  path = checkpoints.resolve_checkpoint(checkpoint, error=ExportError)
  if not config_files:
    params_yaml = export_hf._default_file(checkpoint, ('params.yaml',))  # pylint: disable=protected-access
    config_files = [params_yaml] if params_yaml else []
  _check_output_dir(output_dir)
  params = parse_config(experiment, config_files, params_override)
  # Cheap checks first: building and restoring the model takes a while.
  vocab_file, lower_case = text_settings(params.task, vocab_file,
                                         do_lower_case)
  seq_length = _seq_length(params.task, seq_length)
  task, model = build_task_model(params)
  kind = task_kind(task)
  if what == 'classifier' and kind == 'pretraining':
    raise ExportError(
        f'--experiment={experiment} is a pretraining experiment: it has no '
        'classifier to export; use --export=encoder (or auto) for its '
        'encoder, or export a fine-tuning run.')
  restore(model, path, kind)
  folded = fold_pruning_masks(model)
  if what == 'encoder' or kind == 'pretraining':
    encoder = model.checkpoint_items['encoder']
    module = Encoder(Encoder.Params(parse_sequence_length=seq_length,
                                    vocab_file=vocab_file,
                                    lower_case=lower_case), encoder)
    kind = 'encoder'
    keys = dict(serve='serving_default', serve_text='serve_text',
                serve_text_pair='serve_text_pair', tokenize='tokenize')
  elif kind == 'sentence_prediction':
    pair = _sentence_pair(params.task, sentence_pair)
    module = SentencePrediction(SentencePrediction.Params(
        inputs_only=False, parse_sequence_length=seq_length,
        sentence_pair=pair,
        vocab_file=vocab_file, lower_case=lower_case,
        num_classes=params.task.model.num_classes), model)
    keys = dict(serve='serving_default', serve_examples='serve_examples',
                tokenize='tokenize', serve_text='serve_text')
  else:
    module = Tagging(Tagging.Params(
        parse_sequence_length=seq_length, vocab_file=vocab_file,
        lower_case=lower_case, class_names=list(params.task.class_names),
        narrow_positions=callable(getattr(task, 'narrow_length', None))),
                     model)
    keys = dict(serve='serving_default', serve_examples='serve_examples',
                serve_text='serve_text', tokenize='tokenize')
  if tf.io.gfile.exists(output_dir):
    tf.io.gfile.rmtree(output_dir)
  export_base.export(module, keys, output_dir, timestamped=False)
  return Exported(output_dir=output_dir, kind=kind,
                  signatures=sorted(keys.values()), model=module.keras_model,
                  folded=folded, seq_length=seq_length)


def define_flags():
  """Defines the tool's flags."""
  flags.DEFINE_string('experiment', None, 'A registered experiment (as '
                      'train.py\'s --experiment).')
  flags.DEFINE_multi_string(
      'config_file', None, 'Config YAML stacked on the experiment, in order '
      '(default: params.yaml beside --checkpoint).')
  flags.DEFINE_string('params_override', None,
                      'Overrides after the config files (as train.py).')
  flags.DEFINE_string('checkpoint', None,
                      'A model_dir (latest checkpoint) or checkpoint prefix.')
  flags.DEFINE_string('output_dir', None, 'The SavedModel folder.')
  flags.DEFINE_integer('seq_length', None, 'Sequence length of the text '
                       'signatures (default: the task data\'s seq_length).')
  flags.DEFINE_string('vocab_file', None, 'WordPiece vocabulary (default: '
                      'task.train_data.vocab_file).')
  flags.DEFINE_bool('do_lower_case', None, 'Lower-case text (default: the '
                    'task data\'s do_lower_case, else true).')
  flags.DEFINE_enum('export', 'auto', EXPORT_KINDS,
                    'auto: the fine-tuned model, or the encoder of a '
                    'pretraining run; classifier: the fine-tuned model only; '
                    'encoder: the encoder only.')
  flags.DEFINE_bool('sentence_pair', None, 'Sentence prediction text '
                    'signatures take text and text_b (default: when the data '
                    'config has a text_b_column).')
  flags.mark_flags_as_required(['experiment', 'checkpoint', 'output_dir'])


def main(_):
  """Exports the SavedModel the flags describe."""
  f = flags.FLAGS
  exported = export(
      f.experiment, f.checkpoint, f.output_dir, config_files=f.config_file
      or (), params_override=f.params_override, seq_length=f.seq_length,
      vocab_file=f.vocab_file, do_lower_case=f.do_lower_case,
      what=f.export, sentence_pair=f.sentence_pair)
  folded = (f', {len(exported.folded)} pruning masks folded'
            if exported.folded else '')
  print(f'exported {exported.kind} of {f.experiment} to '
        f'{exported.output_dir} (signatures: '
        f'{", ".join(exported.signatures)}; text packed to '
        f'{exported.seq_length} tokens{folded})')


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
