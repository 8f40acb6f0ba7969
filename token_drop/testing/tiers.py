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

"""Test tiers: parametrized cases split between the fast and slow tiers.

`python -m pytest -m "not slow"` is the quick check; CI runs every test. A
parametrized test whose cases all take the same heavy code path (a SavedModel
export, a model per case) keeps its first case in the fast tier, so that the
quick check still exercises the path, and runs the others in CI only.
"""

from typing import Any, Iterable, List

import pytest


def first_fast(values: Iterable[Any]) -> List[Any]:
  """`pytest.param`s of `values`, all but the first marked slow.

  Args:
    values: The parametrize values; a tuple is the arguments of one case.

  Returns:
    The cases for `pytest.mark.parametrize`, in the same order.
  """
  cases = []
  for i, value in enumerate(values):
    args = value if isinstance(value, tuple) else (value,)
    cases.append(pytest.param(*args, marks=() if i == 0 else pytest.mark.slow))
  return cases
