"""BertEncoderV2 constructor arguments from tfm's `BertEncoderConfig`.

The encoders of this package subclass BertEncoderV2 (so that their variables
and checkpoints are BERT's) and their configs subclass tfm's
BertEncoderConfig; this maps the shared fields once, as tfm's
`encoders.build_encoder` does for `type: bert`.
"""

from typing import Any, Dict

import tf_keras

from official.modeling import tf_utils
from official.nlp.configs import encoders


def bert_encoder_kwargs(config: encoders.BertEncoderConfig) -> Dict[str, Any]:
  """Keyword arguments of `BertEncoderV2` for the fields of `config`.

  Args:
    config: A `BertEncoderConfig` (or a subclass).

  Returns:
    The keyword arguments.
  """
  return dict(
      vocab_size=config.vocab_size,
      hidden_size=config.hidden_size,
      num_layers=config.num_layers,
      num_attention_heads=config.num_attention_heads,
      inner_dim=config.intermediate_size,
      inner_activation=tf_utils.get_activation(config.hidden_activation),
      output_dropout=config.dropout_rate,
      attention_dropout=config.attention_dropout_rate,
      max_sequence_length=config.max_position_embeddings,
      type_vocab_size=config.type_vocab_size,
      initializer=tf_keras.initializers.TruncatedNormal(
          stddev=config.initializer_range),
      output_range=config.output_range,
      embedding_width=config.embedding_size,
      norm_first=config.norm_first,
      return_word_embeddings=config.return_word_embeddings,
      return_attention_scores=config.return_attention_scores)
