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

r"""Writes fine-tuning TFRecords for tfm's sentence_prediction/tagging loaders.

Sentence (pair) classification from a TSV/CSV file with a header:

  python -m token_drop.data.create_finetuning_data --task=classification \
    --input_file=data/classification/fine_foods_train.tsv \
    --text_columns=sentence --label_column=label \
    --vocab_file=data/vocab/bert_en_uncased_vocab.txt \
    --max_seq_length=128 --output_file=/tmp/ff/train.tfrecord

(`--text_columns=question1,question2` for pairs; `--label_list=neg,pos` maps
label strings to ids 0..n-1, otherwise labels must be integer ids;
`--window_stride=31` adds windows of long texts to single-sentence training
data, see finetuning_data.window_examples.)

Token classification from a CoNLL-style file (first sub-word labelled):

  python -m token_drop.data.create_finetuning_data --task=tagging \
    --input_file=data/ner/ner_train.txt \
    --vocab_file=data/vocab/bert_en_uncased_vocab.txt \
    --max_seq_length=128 --output_file=/tmp/ner/train.tfrecord

(`--label_list` fixes the tag order; by default it is 'O' then sorted tags,
printed and stored in the meta data so that the eval file and the task's
`class_names` can use the same order.)

Besides the TFRecords, OUTPUT_FILE.meta.json records the label list, the
number of records and the settings. The files are read by tfm's
`bert/sentence_prediction` / `bert/tagging` experiments (task.train_data.
input_path) and by this package's `finetuning/*` experiments; those can also
read the raw files directly (see token_drop.data.finetuning_dataloader).
"""

import json

from absl import flags

from token_drop.core import errors
from token_drop.data import checks
from token_drop.data import finetuning_data

FLAGS = flags.FLAGS


def define_flags():
  """Defines the tool's flags."""
  flags.DEFINE_enum('task', None, ['classification', 'tagging'],
                    'Sentence (pair) classification or token tagging.')
  flags.DEFINE_string('input_file', None, 'TSV/CSV (classification) or '
                      'CoNLL-style (tagging) file.')
  flags.DEFINE_string('output_file', None, 'TFRecord file to write.')
  flags.DEFINE_string('vocab_file', 'data/vocab/bert_en_uncased_vocab.txt',
                      'WordPiece vocabulary of the encoder.')
  flags.DEFINE_bool('do_lower_case', True, 'Lower-case before WordPiece.')
  flags.DEFINE_integer('max_seq_length', 128, 'Sequence length.')
  flags.DEFINE_list('text_columns', ['sentence'],
                    'Classification: one or two text columns (name or '
                    '0-based index).')
  flags.DEFINE_string('label_column', 'label', 'Classification label column.')
  flags.DEFINE_list('label_list', None,
                    'Labels in id order (default: integer ids for '
                    'classification, O then sorted tags for tagging).')
  flags.DEFINE_string('delimiter', '',
                      'Classification field delimiter (default from the '
                      'extension: .tsv tab, .csv comma).')
  flags.DEFINE_integer('window_stride', 0,
                       'Classification training data: when > 0, texts '
                       'longer than the sequence also yield word-aligned '
                       'windows starting every this many word pieces.')
  flags.mark_flags_as_required(['task', 'input_file', 'output_file'])


def create(task: str, input_file: str, output_file: str, vocab_file: str,
           do_lower_case: bool = True, max_seq_length: int = 128,
           text_columns=('sentence',), label_column: str = 'label',
           label_list=None, delimiter: str = '',
           window_stride: int = 0) -> dict:
  """Writes the TFRecords and their meta data; returns the meta data."""
  if task == 'classification':
    examples, label_list = finetuning_data.classification_examples(
        input_file, list(text_columns), label_column, label_list, delimiter)
    if window_stride:
      examples = finetuning_data.window_examples(
          examples, vocab_file, do_lower_case, max_seq_length, window_stride)
    count = finetuning_data.write_classification(
        examples, label_list, vocab_file, do_lower_case, max_seq_length,
        output_file)
  else:
    if window_stride:
      raise checks.InputDataError('--window_stride is for classification '
                                  'data; tagging splits long sentences.')
    examples, label_list = finetuning_data.read_conll(input_file, label_list)
    count = finetuning_data.write_tagging(examples, vocab_file, do_lower_case,
                                          max_seq_length, output_file)
  meta = dict(task=task, input_file=input_file, num_examples=len(examples),
              num_records=count, label_list=label_list,
              num_labels=len(label_list), max_seq_length=max_seq_length,
              vocab_file=vocab_file, do_lower_case=do_lower_case,
              window_stride=window_stride)
  with open(output_file + '.meta.json', 'w', encoding='utf-8') as f:
    json.dump(meta, f, indent=2)
  return meta


def main(_):
  """Writes the fine-tuning data the flags describe."""
  meta = create(FLAGS.task, FLAGS.input_file, FLAGS.output_file,
                FLAGS.vocab_file, FLAGS.do_lower_case, FLAGS.max_seq_length,
                FLAGS.text_columns, FLAGS.label_column, FLAGS.label_list,
                FLAGS.delimiter, FLAGS.window_stride)
  print(f'wrote {meta["num_records"]} records ({meta["num_examples"]} '
        f'examples) to {FLAGS.output_file}; labels ({meta["num_labels"]}): '
        f'{",".join(meta["label_list"])}')


if __name__ == '__main__':
  define_flags()
  errors.run_main(main)
