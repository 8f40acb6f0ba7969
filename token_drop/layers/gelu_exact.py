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

"""The exact (erf) GELU as a named Keras activation: `gelu_exact`.

tfm's `tf_utils.get_activation('gelu')` is the tanh approximation, while
Hugging Face BERT checkpoints (`hidden_act: gelu`) were trained with the exact
erf form; the two differ by up to ~5e-4 per activation, which adds up over the
layers of an imported model. Importing this module makes
`hidden_activation: gelu_exact` (or `token_drop>gelu_exact`) usable in any
encoder config that goes through `tf_utils.get_activation`.
"""

import tensorflow as tf
import tf_keras

NAME = 'gelu_exact'


@tf_keras.utils.register_keras_serializable(package='token_drop')
def gelu_exact(x):
  """GELU with the exact Gaussian CDF: x * Phi(x)."""
  return tf.nn.gelu(x, approximate=False)


# tf_utils.get_activation lower-cases the name and falls back to
# tf_keras.activations.get, which also looks in the global custom objects.
tf_keras.utils.get_custom_objects()[NAME] = gelu_exact
