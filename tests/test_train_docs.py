"""The examples in the docstrings of tinyae.train run and print what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "tinyae.train",
    "tinyae.train.batches",
    "tinyae.train.callbacks",
    "tinyae.train.evaluate",
    "tinyae.train.history",
    "tinyae.train.loop",
    "tinyae.train.meter",
    "tinyae.train.pretrain",
    "tinyae.train.recipes",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
