"""The optimizer docs run as written: every Python block of docs/optim.md (in order, one namespace) and the
examples in the docstrings of tinyae.optim's modules."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "optim.md"
MODULES = [
    "tinyae.optim",
    "tinyae.optim.sgd",
    "tinyae.optim.rmsprop",
    "tinyae.optim.adam",
    "tinyae.optim.lr_scheduler",
]


def test_docs_optim_blocks_run() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) >= 4
    namespace: dict[str, object] = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for number, block in enumerate(blocks, 1):
            exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
    assert "Adam: lr must be >= 0.0 and finite, got inf" in printed.getvalue()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
