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

"""Plain-numpy Hugging Face BERT forward, the reference for the tools tests.

Written from the BERT definition (post-LN transformer, exact erf GELU for
`hidden_act: gelu`), reading the Hugging Face tensors by name; it shares no
code with token_drop.tools.
"""

import numpy as np
from scipy import special


def _act(name, x):
  if name == 'gelu':
    return 0.5 * x * (1.0 + special.erf(x / np.sqrt(2.0)))
  if name in ('gelu_new', 'gelu_pytorch_tanh'):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) *
                                    (x + 0.044715 * x**3)))
  if name == 'relu':
    return np.maximum(x, 0.0)
  raise ValueError(name)


def _ln(x, w, b, eps):
  mean = x.mean(-1, keepdims=True)
  var = ((x - mean)**2).mean(-1, keepdims=True)
  return (x - mean) / np.sqrt(var + eps) * w + b


def _linear(t, name, x):
  return x @ t[name + '.weight'].astype(np.float64).T + t[name + '.bias']


def bert_forward(tensors, config, input_ids, type_ids, mask, prefix=''):
  """Returns (sequence_output, pooled_output or None) in float64."""
  t = {k[len(prefix):]: v.astype(np.float64) for k, v in tensors.items()
       if k.startswith(prefix)}
  eps = config.get('layer_norm_eps', 1e-12)
  act = config.get('hidden_act', 'gelu')
  heads = config['num_attention_heads']
  batch, seq = input_ids.shape
  x = (t['embeddings.word_embeddings.weight'][input_ids] +
       t['embeddings.position_embeddings.weight'][np.arange(seq)][None] +
       t['embeddings.token_type_embeddings.weight'][type_ids])
  x = _ln(x, t['embeddings.LayerNorm.weight'], t['embeddings.LayerNorm.bias'],
          eps)
  hidden = x.shape[-1]
  size = hidden // heads
  bias = (1.0 - mask[:, None, None, :].astype(np.float64)) * -1e9
  for i in range(config['num_hidden_layers']):
    p = f'encoder.layer.{i}.'

    def split(y):
      return y.reshape(batch, seq, heads, size).transpose(0, 2, 1, 3)

    q = split(_linear(t, p + 'attention.self.query', x))
    k = split(_linear(t, p + 'attention.self.key', x))
    v = split(_linear(t, p + 'attention.self.value', x))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + bias
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    probs = scores / scores.sum(-1, keepdims=True)
    context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
    attn = _linear(t, p + 'attention.output.dense', context)
    x = _ln(attn + x, t[p + 'attention.output.LayerNorm.weight'],
            t[p + 'attention.output.LayerNorm.bias'], eps)
    inner = _act(act, _linear(t, p + 'intermediate.dense', x))
    out = _linear(t, p + 'output.dense', inner)
    x = _ln(out + x, t[p + 'output.LayerNorm.weight'],
            t[p + 'output.LayerNorm.bias'], eps)
  pooled = None
  if 'pooler.dense.weight' in t:
    pooled = np.tanh(_linear(t, 'pooler.dense', x[:, 0]))
  return x, pooled


def mlm_logits(tensors, config, sequence_output, prefix='bert.'):
  """Logits of the BERT MLM head (decoder tied to the word embeddings)."""
  t = {k: v.astype(np.float64) for k, v in tensors.items()}
  h = _act(config.get('hidden_act', 'gelu'),
           _linear(t, 'cls.predictions.transform.dense', sequence_output))
  h = _ln(h, t['cls.predictions.transform.LayerNorm.weight'],
          t['cls.predictions.transform.LayerNorm.bias'],
          config.get('layer_norm_eps', 1e-12))
  return h @ t[prefix + 'embeddings.word_embeddings.weight'].T + t[
      'cls.predictions.bias']


def random_bert(config, seed=0, prefix='bert.', with_mlm=True,
                with_pooler=True):
  """Random Hugging Face BERT tensors for `config` (BertForMaskedLM names)."""
  rng = np.random.default_rng(seed)
  h, inter = config['hidden_size'], config['intermediate_size']

  def r(*shape):
    return rng.normal(0, 0.2, shape).astype(np.float32)

  t = {
      'embeddings.word_embeddings.weight': r(config['vocab_size'], h),
      'embeddings.position_embeddings.weight': r(
          config['max_position_embeddings'], h),
      'embeddings.token_type_embeddings.weight': r(config['type_vocab_size'],
                                                   h),
      'embeddings.LayerNorm.weight': 1 + r(h),
      'embeddings.LayerNorm.bias': r(h),
  }
  for i in range(config['num_hidden_layers']):
    p = f'encoder.layer.{i}.'
    for name, (out, inn) in {
        'attention.self.query': (h, h), 'attention.self.key': (h, h),
        'attention.self.value': (h, h), 'attention.output.dense': (h, h),
        'intermediate.dense': (inter, h), 'output.dense': (h, inter)}.items():
      t[p + name + '.weight'] = r(out, inn)
      t[p + name + '.bias'] = r(out)
    for name in ('attention.output.LayerNorm', 'output.LayerNorm'):
      t[p + name + '.weight'] = 1 + r(h)
      t[p + name + '.bias'] = r(h)
  if with_pooler:
    t['pooler.dense.weight'] = r(h, h)
    t['pooler.dense.bias'] = r(h)
  t = {prefix + k: v for k, v in t.items()}
  if with_mlm:
    t['cls.predictions.transform.dense.weight'] = r(h, h)
    t['cls.predictions.transform.dense.bias'] = r(h)
    t['cls.predictions.transform.LayerNorm.weight'] = 1 + r(h)
    t['cls.predictions.transform.LayerNorm.bias'] = r(h)
    t['cls.predictions.bias'] = r(config['vocab_size'])
  return t
