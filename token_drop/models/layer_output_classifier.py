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

"""A BERT classifier whose encoder also returns every layer's output.

Layer-wise distillation (SparseBERT, `token_drop.tasks.sparse_bert`) compares
the embedding output, each layer's output and each layer's attention of a
student and a teacher classifier. tfm's `BertEncoderV2` returns these behind
two config switches, `return_word_embeddings` and `return_attention_scores`,
which add no variables: the classifier built here has the variables, the
checkpoints and the `params.yaml` of a plain tfm `BertClassifier`.
"""

import copy

import tf_keras

from official.nlp.configs import encoders
from official.nlp.modeling import models
from official.nlp.tasks import sentence_prediction


def build_classifier(model_config: sentence_prediction.ModelConfig
                    ) -> tf_keras.Model:
  """A tfm BertClassifier; its encoder also returns embeddings and attention.

  Args:
    model_config: A sentence prediction `ModelConfig` with a `bert` encoder.

  Returns:
    A `BertClassifier` whose encoder outputs add `word_embeddings` (the
    embedding output) and `attention_scores` (one attention probability map
    per layer) to `encoder_outputs`.

  Raises:
    ValueError: The encoder type has no such switches.
  """
  encoder_config = copy.deepcopy(model_config.encoder)
  inner = encoder_config.get()
  if not hasattr(inner, 'return_attention_scores') or not hasattr(
      inner, 'return_word_embeddings'):
    raise ValueError(
        f'task.model.encoder.type={encoder_config.type!r}: layer distillation '
        'needs a BERT encoder (type bert) with return_attention_scores and '
        'return_word_embeddings.')
  inner.return_attention_scores = True
  inner.return_word_embeddings = True
  encoder = encoders.build_encoder(encoder_config)
  return models.BertClassifier(
      network=encoder, num_classes=model_config.num_classes,
      initializer=tf_keras.initializers.TruncatedNormal(
          stddev=inner.initializer_range),
      use_encoder_pooler=model_config.use_encoder_pooler)
