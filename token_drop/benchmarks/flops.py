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

"""Forward FLOPs of transformer encoders, computed from their shapes.

Benchmarks print these next to measured times: matmul FLOPs only (a
multiply-add counts 2), which dominate BERT-sized layers; embeddings lookups,
softmax, layer norms and activations are left out.
"""


def layer_flops(queries: int, keys: int, hidden: int, inner: int) -> int:
  """Forward FLOPs of one transformer layer for one sequence.

  Args:
    queries: Positions that are updated (queries, output projection, FFN).
    keys: Positions attended to (keys and values).
    hidden: Hidden size.
    inner: Feed-forward (intermediate) size.

  Returns:
    FLOPs.
  """
  projections = 2 * hidden * hidden * (2 * queries + 2 * keys)  # Q,O + K,V
  attention = 2 * 2 * queries * keys * hidden  # scores and weighted values
  ffn = 2 * 2 * queries * hidden * inner
  return projections + attention + ffn


def encoder_flops(num_layers: int, seq_length: int, hidden: int,
                  inner: int) -> int:
  """Forward FLOPs of a plain encoder over full sequences, per sequence."""
  return num_layers * layer_flops(seq_length, seq_length, hidden, inner)


def mlm_head_flops(num_predictions: int, hidden: int, vocab_size: int) -> int:
  """Forward FLOPs of BERT's MLM head (transform + logits), per sequence."""
  return num_predictions * (2 * hidden * hidden + 2 * hidden * vocab_size)


def token_drop_encoder_flops(num_layers: int, seq_length: int, keep: int,
                             hidden: int, inner: int, start: int,
                             end: int) -> int:
  """Forward FLOPs of a token-dropping encoder in training, per sequence.

  Args:
    num_layers: Number of transformer layers.
    seq_length: Sequence length.
    keep: Tokens kept in the dropping layers.
    hidden: Hidden size.
    inner: Feed-forward (intermediate) size.
    start: First layer whose queries are only the kept tokens (it attends to
      all tokens).
    end: First layer that sees the full sequence again.

  Returns:
    FLOPs.
  """
  total = 0
  for i in range(num_layers):
    if i == start and start < end:
      total += layer_flops(keep, seq_length, hidden, inner)
    elif start < i < end:
      total += layer_flops(keep, keep, hidden, inner)
    else:
      total += layer_flops(seq_length, seq_length, hidden, inner)
  return total


def narrow_encoder_flops(num_layers: int, full_length_layers: int,
                         seq_length: int, queries: int, hidden: int,
                         inner: int) -> int:
  """Forward FLOPs of a NarrowBERT encoder (sparse queries), per sequence.

  Args:
    num_layers: Number of transformer layers.
    full_length_layers: Layers at full length before the narrow ones.
    seq_length: Sequence length.
    queries: Narrow positions (e.g. masked-LM targets, or 1 for [CLS]).
    hidden: Hidden size.
    inner: Feed-forward (intermediate) size.

  Returns:
    FLOPs (each narrow layer projects keys and values of the whole sequence).
  """
  full = full_length_layers * layer_flops(seq_length, seq_length, hidden,
                                          inner)
  narrow = (num_layers - full_length_layers) * layer_flops(
      queries, seq_length, hidden, inner)
  return full + narrow
