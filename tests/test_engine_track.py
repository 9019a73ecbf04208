"""The engine track (tutorials/engine/) runs top to bottom, and each step's own checks really check.

Each step is run in this process with ``runpy`` (the steps are quick and take no arguments), so that a
failed ``assert`` inside a step fails here, and pytest's ``filterwarnings = error`` turns any overflow
warning a step forgot to silence into a failure.
"""

from __future__ import annotations

import ast
import runpy
from pathlib import Path

import numpy as np
import pytest

import tinyae

ENGINE = Path(__file__).resolve().parent.parent / "tutorials" / "engine"
STEPS = sorted(ENGINE.glob("[0-9][0-9]_*.py"))


def test_the_track_is_numbered_from_one_without_gaps() -> None:
    assert [int(p.name[:2]) for p in STEPS] == list(range(1, len(STEPS) + 1))
    assert len(STEPS) >= 7


@pytest.mark.parametrize("step", STEPS, ids=lambda p: p.stem)
def test_step_runs_and_passes_its_checks(step: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the steps compare with NumPy arrays, on the default backend; an overflow they do not silence
    # explicitly becomes a warning, and so (filterwarnings = error) a failure
    with tinyae.use_backend("numpy"), np.errstate(over="warn", divide="warn", invalid="warn"):
        runpy.run_path(str(step), run_name="__main__")
        assert tinyae.get_backend().name == "numpy"  # a step must not change the default backend
    out = capsys.readouterr().out
    assert f"step {int(step.name[:2])}: every check passed" in out


@pytest.mark.parametrize("step", STEPS, ids=lambda p: p.stem)
def test_step_is_a_short_percent_script_that_says_what_is_new(step: Path) -> None:
    text = step.read_text()
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring and "What is new" in docstring
    assert len(text.splitlines()) <= 130
    assert "\n# %%\n" in text and "\n# %% [markdown]\n" in text  # cells that jupytext reads
    assert "argparse" not in text and "sys.argv" not in text  # a notebook kernel's argv is not ours
    assert text.count("assert ") >= 3  # it checks its hand-written pieces against tinyae


def test_a_broken_check_fails_the_step(tmp_path: Path) -> None:
    """The runner is not a rubber stamp: a step whose hand-written piece disagrees with tinyae fails."""
    source = (ENGINE / "01_scalar_graph.py").read_text()
    broken = source.replace("grad_w = grad_a * x", "grad_w = grad_a * (x + 0.01)")
    assert broken != source
    path = tmp_path / "01_broken.py"
    path.write_text(broken)
    with pytest.raises(AssertionError):
        runpy.run_path(str(path), run_name="__main__")
