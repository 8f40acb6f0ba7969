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

"""Helpers shared by the test suite (tests/), as tfm has official/utils/testing.

They live in the package, not in tests/, so that test modules import them by
their package name (no sys.path changes and no test module importing
another): `train_utils` runs train.py on tiny overrides from a repository
checkout, `distribute` holds the suite's MirroredStrategy, `hf_reference`
is a plain-numpy Hugging Face BERT forward pass, `tiny_experiments` shrinks
every registered experiment to a tiny model and makes its batches, and
`tiers` splits parametrized cases between the fast (`-m "not slow"`) and
slow tiers.
"""
