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

"""Pretraining inputs: tfm's TFRecord loader, or straight from text.

`PretrainDataConfig` extends tfm's `BertPretrainDataConfig` with an
`input_format`:

* `tfrecord` (default): files written by
  `token_drop.data.create_pretraining_data` (or tfm's / the original BERT
  script), read by tfm's `BertPretrainDataLoader`.
  Masks are fixed at preprocessing time (`dupe_factor` copies with different
  masks). Use it for large runs: the input pipeline does no tokenization.
* `text`: files in the create_pretraining_data text format (one sentence per
  line, a blank line between documents), tokenized on the fly with
  tensorflow-text's `BertTokenizer`, packed into full `seq_length` sequences
  (documents are separated by [SEP]) and masked dynamically: every epoch sees
  new masks. No preprocessing step; costs CPU in the input pipeline. MLM only
  (no next-sentence labels).

Masking in the text path uses stateless random ops keyed by (seed, batch
index), so validation batches get the same masks in every evaluation and a
training run is reproducible.
"""

import dataclasses
from typing import Optional

import tensorflow as tf
import tensorflow_text as tf_text

from official.nlp.data import data_loader
from official.nlp.data import data_loader_factory
from official.nlp.data import pretrain_dataloader
from token_drop.data import checks

INPUT_FORMATS = ('tfrecord', 'text')


@dataclasses.dataclass
class PretrainDataConfig(pretrain_dataloader.BertPretrainDataConfig):
  """BERT pretraining data from TFRecords or from text.

  Attributes:
    input_format: `tfrecord` or `text` (see the module docstring).
    vocab_file: WordPiece vocabulary, one token per line. Required for `text`;
      when set for `tfrecord`, its size is checked against the encoder's
      vocab_size before training.
    do_lower_case: Lower-case text before WordPiece (`text` only).
    masking_rate: Fraction of tokens to predict (`text` only).
  """
  input_format: str = 'tfrecord'
  vocab_file: str = ''
  do_lower_case: bool = True
  masking_rate: float = 0.15


def mask_tokens(input_ids: tf.Tensor, *, seed: tf.Tensor,
                max_predictions_per_seq: int, masking_rate: float,
                vocab_size: int, mask_id: int, special_ids) -> dict:
  """BERT masking of a batch: 80% [MASK], 10% random id, 10% unchanged.

  Args:
    input_ids: int32 [batch, seq_length] token ids.
    seed: int32 [2] seed of the stateless random ops.
    max_predictions_per_seq: Width of the masked_lm_* outputs.
    masking_rate: Fraction of the non-special tokens to predict (at least 1,
      at most max_predictions_per_seq per sequence).
    vocab_size: Random replacements are drawn from [0, vocab_size).
    mask_id: Id of [MASK].
    special_ids: Ids that are never predicted ([CLS], [SEP], [PAD]).

  Returns:
    A dict with `input_word_ids` (masked), `masked_lm_positions`,
    `masked_lm_ids` and `masked_lm_weights`, positions in ascending order and
    unused prediction slots with weight 0.
  """
  batch_size = tf.shape(input_ids)[0]
  seq_length = input_ids.shape[1]
  seeds = tf.random.experimental.stateless_split(seed, num=4)
  candidate = tf.ones_like(input_ids, dtype=tf.bool)
  for special in special_ids:
    candidate &= tf.not_equal(input_ids, special)
  num_candidates = tf.reduce_sum(tf.cast(candidate, tf.float32), axis=1)
  num_to_predict = tf.cast(tf.round(num_candidates * masking_rate), tf.int32)
  num_to_predict = tf.clip_by_value(num_to_predict, 1, max_predictions_per_seq)
  num_to_predict = tf.minimum(num_to_predict,
                              tf.cast(num_candidates, tf.int32))

  scores = tf.random.stateless_uniform([batch_size, seq_length], seeds[0])
  scores = tf.where(candidate, scores, -1.0)
  chosen = tf.math.top_k(scores, k=max_predictions_per_seq).indices
  slot = tf.range(max_predictions_per_seq)[tf.newaxis, :]
  valid = slot < num_to_predict[:, tf.newaxis]
  # Sort the chosen positions; unused slots go last and then point at 0.
  positions = tf.sort(tf.where(valid, chosen, seq_length), axis=1)
  positions = tf.where(valid, positions, 0)
  original = tf.gather(input_ids, positions, batch_dims=1)

  action = tf.random.stateless_uniform(tf.shape(positions), seeds[1])
  random_ids = tf.random.stateless_uniform(
      tf.shape(positions), seeds[2], maxval=vocab_size, dtype=tf.int32)
  replacement = tf.where(action < 0.8, mask_id,
                         tf.where(action < 0.9, random_ids, original))
  update = tf.where(valid, replacement, original)
  batch_index = tf.broadcast_to(tf.range(batch_size)[:, tf.newaxis],
                                tf.shape(positions))
  indices = tf.stack([batch_index, positions], axis=-1)
  # Invalid slots write back the original id of position 0, a no-op; valid
  # slots are distinct positions, so the scatter order does not matter.
  masked = tf.tensor_scatter_nd_update(input_ids, indices, update)
  return {
      'input_word_ids': masked,
      'masked_lm_positions': positions,
      'masked_lm_ids': tf.where(valid, original, 0),
      'masked_lm_weights': tf.cast(valid, tf.float32),
  }


class TextPretrainDataLoader:
  """Reads create_pretraining_data-format text, packs and masks on the fly."""

  def __init__(self, params: PretrainDataConfig):
    if params.use_next_sentence_label:
      raise checks.InputDataError(
          f'input_path={params.input_path!r}: input_format "text" trains '
          'masked LM only; set use_next_sentence_label: false or build '
          'TFRecords with python -m token_drop.data.create_pretraining_data.')
    if not 0 < params.max_predictions_per_seq <= params.seq_length - 2:
      raise checks.InputDataError(
          f'max_predictions_per_seq={params.max_predictions_per_seq} must be '
          f'between 1 and seq_length - 2 = {params.seq_length - 2}.')
    self._params = params
    self._files = checks.expand_input_path(params.input_path)
    checks.check_text_files(self._files)
    vocab = checks.read_vocab(params.vocab_file)
    self._vocab_size = len(vocab)
    self._pad_id = checks.special_id(vocab, '[PAD]', params.vocab_file)
    self._cls_id = checks.special_id(vocab, '[CLS]', params.vocab_file)
    self._sep_id = checks.special_id(vocab, '[SEP]', params.vocab_file)
    self._mask_id = checks.special_id(vocab, '[MASK]', params.vocab_file)
    checks.special_id(vocab, '[UNK]', params.vocab_file)

  def _token_stream(self, input_context):
    """Dataset of int32 token ids, [SEP] between documents."""
    params = self._params
    files = tf.data.Dataset.from_tensor_slices(self._files)
    num_pipelines = (input_context.num_input_pipelines if input_context
                     else 1)
    # Sharding by file keeps each document's sentences together; sharding
    # lines (only when there are fewer files than pipelines) gives each
    # pipeline every n-th sentence.
    by_file = len(self._files) >= num_pipelines
    if num_pipelines > 1 and by_file:
      files = files.shard(num_pipelines, input_context.input_pipeline_id)
    lines = files.flat_map(tf.data.TextLineDataset)
    if num_pipelines > 1 and not by_file:
      lines = lines.shard(num_pipelines, input_context.input_pipeline_id)
    if params.is_training:
      lines = lines.repeat()
    tokenizer = tf_text.BertTokenizer(
        params.vocab_file, lower_case=params.do_lower_case,
        token_out_type=tf.int32)
    sep_id = self._sep_id

    def tokenize(batch_of_lines):
      pieces = tokenizer.tokenize(batch_of_lines).merge_dims(1, 2)
      blank = tf.equal(tf.strings.length(tf.strings.strip(batch_of_lines)), 0)
      boundary = tf.RaggedTensor.from_row_lengths(
          tf.fill([tf.reduce_sum(tf.cast(blank, tf.int32))], sep_id),
          tf.cast(blank, tf.int64))
      return tf.concat([pieces, boundary], axis=1).flat_values

    return (lines.batch(256)
            .map(tokenize, num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch())

  def load(self, input_context: Optional[tf.distribute.InputContext] = None):
    """Returns a dataset of batches in the layout tfm's MLM task reads."""
    params = self._params
    batch_size = (input_context.get_per_replica_batch_size(
        params.global_batch_size) if input_context else
                  params.global_batch_size)
    body = params.seq_length - 2
    cls_id, sep_id = self._cls_id, self._sep_id

    def frame(chunk):
      ids = tf.concat([[cls_id], chunk, [sep_id]], axis=0)
      return tf.ensure_shape(ids, [params.seq_length])

    sequences = self._token_stream(input_context).batch(
        body, drop_remainder=True).map(frame)
    # Seed 0 when none is set, so that runs are reproducible by default.
    base_seed = params.seed or 0
    if params.is_training:
      sequences = sequences.shuffle(
          max(params.shuffle_buffer_size, 1), seed=base_seed)
    batches = sequences.batch(batch_size, drop_remainder=True).enumerate()
    pipeline_id = input_context.input_pipeline_id if input_context else 0

    def to_features(index, input_ids):
      seed = tf.stack([tf.cast(base_seed + 7919 * pipeline_id, tf.int64),
                       index])
      seed = tf.cast(seed % (2**31 - 1), tf.int32)
      features = mask_tokens(
          input_ids, seed=seed,
          max_predictions_per_seq=params.max_predictions_per_seq,
          masking_rate=params.masking_rate, vocab_size=self._vocab_size,
          mask_id=self._mask_id,
          special_ids=(self._cls_id, self._sep_id, self._pad_id))
      features['input_mask'] = tf.ones_like(input_ids)
      features['input_type_ids'] = tf.zeros_like(input_ids)
      return features

    return batches.map(to_features, num_parallel_calls=tf.data.AUTOTUNE
                      ).prefetch(tf.data.AUTOTUNE)


@data_loader_factory.register_data_loader_cls(PretrainDataConfig)
class PretrainDataLoader(data_loader.DataLoader):
  """Dispatches on `input_format`; checks the inputs before any training."""

  def __init__(self, params: PretrainDataConfig):
    if params.input_format not in INPUT_FORMATS:
      raise checks.InputDataError(
          f'input_format={params.input_format!r} is not one of '
          f'{INPUT_FORMATS}.')
    if params.input_format == 'text':
      self._loader = TextPretrainDataLoader(params)
    else:
      files = checks.expand_input_path(params.input_path)
      checks.check_pretrain_tfrecords(files, params)
      self._loader = pretrain_dataloader.BertPretrainDataLoader(params)

  def load(self, input_context: Optional[tf.distribute.InputContext] = None):
    return self._loader.load(input_context)
