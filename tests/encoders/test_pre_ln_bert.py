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

"""PreLNBertEncoder: the final LayerNorm of 24-hour BERT on BertEncoderV2."""

import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras

# pylint: disable=unused-import
import experiments  # noqa: F401  Registers budget_bert/*.
# pylint: enable=unused-import
from official.core import exp_factory
from official.core import task_factory
from official.modeling import performance
from official.nlp.configs import encoders
from official.nlp.modeling import networks
from token_drop.encoders import pre_ln_bert
from token_drop.testing import train_utils as tu
from token_drop.tools import bert_weights
from token_drop.tools import export_hf

TINY = dict(vocab_size=50, hidden_size=16, num_layers=2,
            num_attention_heads=2, inner_dim=32, max_sequence_length=16,
            type_vocab_size=2)


def _inputs(batch=2, seq=6):
  ids = tf.constant(np.random.RandomState(0).randint(1, 50, (batch, seq)),
                    tf.int32)
  return dict(input_word_ids=ids, input_mask=tf.ones_like(ids),
              input_type_ids=tf.zeros_like(ids))


def _normalised(x):
  x = np.asarray(x, np.float64)
  return (np.allclose(x.mean(-1), 0.0, atol=1e-4) and
          np.allclose(x.std(-1), 1.0, atol=1e-3))


def test_output_is_the_layer_normed_pre_ln_bert_output(tmp_path):
  encoder = pre_ln_bert.PreLNBertEncoder(**TINY)
  inputs = _inputs()
  outputs = encoder(inputs, training=False)
  norm = encoder.final_layer_norm
  norm.gamma.assign(tf.random.stateless_uniform([16], (1, 2), 0.5, 2.0))
  norm.beta.assign(tf.random.stateless_uniform([16], (3, 4), -1.0, 1.0))
  outputs = encoder(inputs, training=False)

  # The same variables in a plain pre-LN BertEncoderV2 (no final norm).
  path = tf.train.Checkpoint(encoder=encoder).save(str(tmp_path / 'c'))
  plain = networks.BertEncoderV2(norm_first=True, **TINY)
  plain(inputs)
  tf.train.Checkpoint(encoder=plain).read(path).expect_partial(
  ).assert_existing_objects_matched()
  raw = plain(inputs, training=False)
  assert not _normalised(raw['sequence_output'])

  expected = norm(raw['sequence_output'])
  np.testing.assert_allclose(outputs['sequence_output'], expected,
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(outputs['encoder_outputs'][-1], expected,
                             rtol=1e-5, atol=1e-5)
  # Earlier layers' outputs stay raw, as in the reference.
  np.testing.assert_allclose(outputs['encoder_outputs'][0],
                             raw['encoder_outputs'][0], rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(
      outputs['pooled_output'], encoder.pooler_layer(expected[:, 0, :]),
      rtol=1e-5, atol=1e-5)


def test_budget_bert_encoder_outputs_are_normalised():
  config = exp_factory.get_exp_config('budget_bert/pretraining')
  encoder_config = config.task.model.encoder
  encoder_config.override({'any': dict(hidden_size=16, num_layers=2,
                                       num_attention_heads=2,
                                       intermediate_size=32)})
  encoder = encoders.build_encoder(encoder_config)
  assert isinstance(encoder, pre_ln_bert.PreLNBertEncoder)
  outputs = encoder(_inputs(), training=False)
  # Initial gamma 1, beta 0: zero mean, unit variance per token.
  assert _normalised(outputs['sequence_output'])


def test_final_layer_norm_can_be_turned_off():
  encoder = pre_ln_bert.PreLNBertEncoder(final_layer_norm=False, **TINY)
  plain = networks.BertEncoderV2(norm_first=True, **TINY)
  inputs = _inputs()
  encoder(inputs)
  plain(inputs)
  plain.set_weights(encoder.get_weights())
  np.testing.assert_allclose(
      encoder(inputs, training=False)['sequence_output'],
      plain(inputs, training=False)['sequence_output'], rtol=1e-5, atol=1e-5)


def test_post_ln_is_refused():
  with pytest.raises(ValueError, match='norm_first must be True'):
    pre_ln_bert.PreLNBertEncoder(norm_first=False, **TINY)


def test_config_round_trip():
  # BertEncoderV2's default activation (a lambda) does not serialize.
  encoder = pre_ln_bert.PreLNBertEncoder(inner_activation='relu', **TINY)
  clone = pre_ln_bert.PreLNBertEncoder.from_config(encoder.get_config())
  assert clone.get_config() == encoder.get_config()
  assert clone.get_config()['final_layer_norm'] is True


# An XLA compile takes seconds to minutes on a loaded 2-core CPU.
@pytest.mark.slow
def test_compiles_under_xla_in_mixed_bfloat16():
  performance.set_mixed_precision_policy(tf.bfloat16)
  try:
    encoder = pre_ln_bert.PreLNBertEncoder(**TINY)
    step = tf.function(lambda x: encoder(x, training=True)['sequence_output'],
                       jit_compile=True)
    output = step(_inputs())
  finally:
    performance.set_mixed_precision_policy(tf.float32)
  assert output.dtype == tf.float32  # The final norm computes in float32.
  assert np.all(np.isfinite(output.numpy()))


def test_fine_tuning_restores_the_final_layer_norm(tmp_path, monkeypatch):
  monkeypatch.chdir(tu.REPO_ROOT)
  pretrained = pre_ln_bert.PreLNBertEncoder(**TINY)
  pretrained(_inputs())
  pretrained.final_layer_norm.gamma.assign(tf.fill([16], 2.0))
  path = tf.train.Checkpoint(encoder=pretrained).save(str(tmp_path / 'c'))

  config = exp_factory.get_exp_config('budget_bert/sentence_prediction')
  config.task.override({
      'init_checkpoint': path,
      'model': {'num_classes': 2, 'encoder': {'any': dict(
          vocab_size=50, hidden_size=16, num_layers=2, num_attention_heads=2,
          intermediate_size=32, max_position_embeddings=16)}}})
  task = task_factory.get_task(config.task)
  model = task.build_model()
  model(_inputs())
  task.initialize(model)
  gamma = model.checkpoint_items['encoder'].final_layer_norm.gamma
  np.testing.assert_allclose(gamma.numpy(), 2.0)


def test_export_hf_refuses_the_pre_ln_encoder(tmp_path):
  # Hugging Face BERT is post-LN and has no final LayerNorm: a clear error,
  # not a silently wrong export.
  # export_hf names a missing checkpoint first, so give it one.
  checkpoint = tf.train.Checkpoint(step=tf.Variable(0)).write(
      str(tmp_path / 'ckpt'))
  with pytest.raises(bert_weights.WeightMappingError, match='norm_first'):
    export_hf.export_checkpoint(
        checkpoint, str(tmp_path / 'hf'),
        encoder_config=os.path.join(tu.REPO_ROOT, 'configs', 'demo',
                                    'budget_bert_encoder.yaml'))
  assert not os.path.exists(tmp_path / 'hf')


def test_demo_configs_share_the_encoder():
  import yaml  # pylint: disable=g-import-not-at-top
  sections = []
  for name in ('budget_bert_pretraining.yaml', 'budget_bert_encoder.yaml'):
    with open(os.path.join(tu.REPO_ROOT, 'configs', 'demo', name),
              encoding='utf-8') as f:
      sections.append(yaml.safe_load(f)['task']['model']['encoder'])
  assert sections[0] == sections[1]
  assert sections[0]['type'] == 'any'


def test_keras_serialization_registered():
  name = tf_keras.utils.get_registered_name(pre_ln_bert.PreLNBertEncoder)
  assert name == 'TokenDrop>PreLNBertEncoder'


def test_output_range_normalises_the_kept_positions():
  encoder = pre_ln_bert.PreLNBertEncoder(output_range=1, **TINY)
  full = pre_ln_bert.PreLNBertEncoder(**TINY)
  inputs = _inputs()
  encoder(inputs)
  full(inputs)
  full.set_weights(encoder.get_weights())
  ranged = encoder(inputs, training=False)['sequence_output']
  assert ranged.shape[1] == 1
  np.testing.assert_allclose(
      ranged, full(inputs, training=False)['sequence_output'][:, :1],
      rtol=1e-5, atol=1e-5)


# A SavedModel export traces every call signature (tests/encoders/
# test_encoder_compat.py exports in the fast tier).
@pytest.mark.slow
def test_classifier_with_the_encoder_exports_a_saved_model(tmp_path):
  from official.nlp.modeling import models  # pylint: disable=g-import-not-at-top
  encoder = pre_ln_bert.PreLNBertEncoder(inner_activation='relu', **TINY)
  classifier = models.BertClassifier(encoder, num_classes=2)
  inputs = _inputs()
  expected = classifier(inputs, training=False)
  tf.saved_model.save(classifier, str(tmp_path / 'sm'))
  loaded = tf.saved_model.load(str(tmp_path / 'sm'))
  np.testing.assert_allclose(loaded(inputs, training=False), expected,
                             rtol=1e-5, atol=1e-5)
