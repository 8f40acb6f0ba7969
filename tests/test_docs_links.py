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

"""README.md and docs/ link to pages, images and anchors that exist."""

import glob
import os
import re

import pytest

from token_drop.testing import train_utils as tu

_LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)\)')
_FENCE = re.compile(r'^```.*?^```', re.S | re.M)


def _pages():
  return [os.path.join(tu.REPO_ROOT, 'README.md')] + sorted(
      glob.glob(os.path.join(tu.REPO_ROOT, 'docs', '*.md')))


def _read(path):
  with open(path, encoding='utf-8') as f:
    return f.read()


def _anchors(path):
  """GitHub's heading anchors of a Markdown file."""
  anchors, seen = set(), {}
  for line in _FENCE.sub('', _read(path)).splitlines():
    match = re.match(r'#{1,6}\s+(.*?)\s*#*\s*$', line)
    if not match:
      continue
    slug = re.sub(r'[^\w\- ]', '', match.group(1).lower()).replace(' ', '-')
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    anchors.add(slug if not count else f'{slug}-{count}')
  return anchors


def test_slugs_follow_github():
  assert _anchors(os.path.join(tu.REPO_ROOT, 'README.md')) >= {
      'training-with-trainpy', 'narrow-layers-narrowbert',
      'precision-which-dtype-on-which-hardware'}


@pytest.mark.parametrize('page', _pages(), ids=os.path.basename)
def test_relative_links_resolve(page):
  broken = []
  for target in _LINK.findall(_FENCE.sub('', _read(page))):
    if re.match(r'[a-z]+:', target):  # http:, https:, mailto:
      continue
    path, _, anchor = target.partition('#')
    path = os.path.normpath(os.path.join(os.path.dirname(page), path)) if (
        path) else page
    if not os.path.exists(path):
      broken.append(f'{target}: no file {os.path.relpath(path, tu.REPO_ROOT)}')
    elif anchor and path.endswith('.md') and anchor not in _anchors(path):
      broken.append(f'{target}: no heading with anchor #{anchor}')
  assert not broken, f'{os.path.basename(page)}:\n' + '\n'.join(broken)


def test_readme_links_every_docs_page():
  readme = _read(os.path.join(tu.REPO_ROOT, 'README.md'))
  missing = [p for p in _pages()[1:]
             if f'(docs/{os.path.basename(p)}' not in readme]
  assert not missing, missing
