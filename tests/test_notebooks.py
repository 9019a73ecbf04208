"""Tutorials open as Jupyter notebooks: jupytext reads their ``# %%`` cells, nbclient executes them.

Needs the ``notebooks`` extra (``pip install -e ".[notebooks]"``); skipped with the reason without it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the notebooks extra is not installed (jupytext)")
nbclient = pytest.importorskip("nbclient", reason="the notebooks extra is not installed (nbclient)")
pytest.importorskip("ipykernel", reason="the notebooks extra is not installed (ipykernel)")

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = ROOT / "tutorials"
# run as notebooks, with what each must print: two engine steps, and a flag-taking tutorial (its defaults)
EXECUTED = {
    "engine/01_scalar_graph.py": "step 1: every check passed",
    "engine/07_stable_forms.py": "step 7: every check passed",
    "01_engine.py": "gradcheck: analytic gradients match",
}
PERCENT = [*sorted(p.relative_to(TUTORIALS).as_posix() for p in (TUTORIALS / "engine").glob("*.py"))]
PERCENT += ["01_engine.py", "04_denoising_autoencoder.py", "05_sparse_autoencoder.py"]
PERCENT += ["06_contractive_autoencoder.py"]


@pytest.mark.parametrize("name", PERCENT)
def test_tutorial_converts_to_a_notebook_with_cells(name: str) -> None:
    notebook = jupytext.read(TUTORIALS / name, fmt="py:percent")
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("code") >= 2, f"{name}: no '# %%' cell markers"
    if name.startswith("engine/"):
        assert "markdown" in kinds, f"{name}: no '# %% [markdown]' cells"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXECUTED))
def test_tutorial_executes_as_a_notebook(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the kernel is a new process: it finds tinyae (not necessarily installed) through PYTHONPATH
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core warns about its old paths otherwise
    notebook = jupytext.read(TUTORIALS / name, fmt="py:percent")
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the failing cell, if any check in a cell fails
    printed = "".join(output.get("text", "") for cell in notebook.cells for output in cell.get("outputs", []))
    assert EXECUTED[name] in printed
