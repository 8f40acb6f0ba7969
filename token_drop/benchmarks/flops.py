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
