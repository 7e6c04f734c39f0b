"""The fuzzers draw what the docs say adjit supports (tests/fuzz/constructs.py):

* every table row and bullet of docs/supported.md (and of the supported
  lists of calls.md, parallel.md, higher-order.md: constructs.ENFORCED) is
  named by a construct of constructs.CONSTRUCTS;
* every construct still points at a row, bullet or phrase of its document;
* every construct is drawn by some family, and every `family: tag` named
  there is drawn in the fixed-seed sample (programs 0..399 of each family,
  generated, not checked: a second or so);
* the coverage table of docs/fuzzing.md is the one constructs.py generates
  (`python tests/fuzz/report.py --coverage --write` rewrites it).
"""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import constructs  # noqa: E402
import families  # noqa: E402


def test_every_supported_row_and_bullet_is_named():
    missing = constructs.unmapped_rows()
    assert not missing, ("rows of the docs no construct of tests/fuzz/constructs.py names "
                         "(add a construct, and a family drawing it):\n  " + "\n  ".join(missing))


def test_every_construct_points_at_its_documentation():
    stale = constructs.stale_constructs()
    assert not stale, ("constructs whose row is no longer in the docs (update "
                       "tests/fuzz/constructs.py):\n  " + "\n  ".join(stale))


def test_every_construct_has_a_family():
    names = [c.name for c in constructs.CONSTRUCTS]
    assert len(names) == len(set(names)), "construct names must be unique"
    for construct in constructs.CONSTRUCTS:
        assert construct.draws, f"{construct.name}: no family draws it"
        for draw in construct.draws:
            family, _, tag = draw.partition(": ")
            assert family in families.FAMILIES and tag, f"{construct.name}: bad entry {draw!r}"


@pytest.fixture(scope="module")
def sample():
    return constructs.sample_tags()


def test_every_family_tag_is_drawn_in_the_fixed_sample(sample):
    missing = constructs.undrawn(sample)
    assert not missing, ("tags named in tests/fuzz/constructs.py that programs 0.."
                         f"{constructs.SAMPLE - 1} never draw:\n  " + "\n  ".join(missing))


def test_the_docs_show_the_generated_table():
    assert constructs.table_in_docs() == constructs.table(), \
        "docs/fuzzing.md is stale: run `python tests/fuzz/report.py --coverage --write`"
