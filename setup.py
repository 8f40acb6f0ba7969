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

"""Installs token_drop (the library) and experiments (its tfm registrations)."""

import setuptools

_REQUIRED = [
    'tensorflow==2.20.*',
    'tf-models-official==2.20.0',
    'tensorflow-text==2.20.*',
    'tf-keras==2.20.*',
    'pyyaml>=6.0',
    'gin-config>=0.5.0',
    'safetensors>=0.4',
]

setuptools.setup(
    name='token-drop',
    version='0.1.0',
    description=('Efficient BERT pretraining and inference (token dropping, '
                 'narrow layers, masked pruning, Bort, budget pretraining) as '
                 'TensorFlow Model Garden experiments.'),
    python_requires='>=3.10',
    packages=setuptools.find_packages(include=['token_drop', 'token_drop.*',
                                               'experiments', 'experiments.*']),
    py_modules=['train'],
    install_requires=_REQUIRED,
    extras_require={'test': ['pytest>=7', 'pytest-timeout>=2.1',
                             'ruff==0.17.6']},
    entry_points={'console_scripts': ['token-drop-train=train:run_main']},
    license='Apache-2.0',
)
