"""docs/pytorch.md runs as written: a tinyae model's weights loaded into the equivalent torch.nn model give
the same outputs (skipped where PyTorch is not installed)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.DOTALL)


def test_the_pytorch_page_runs_and_matches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed")
    blocks = python_blocks(ROOT / "docs" / "pytorch.md")
    assert len(blocks) == 1
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(blocks[0], "docs/pytorch.md", "exec"), {})
    assert printed.getvalue() == "True\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ae.safetensors"]


def test_a_wrong_mapping_would_be_noticed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's check can fail: without the transposes the outputs differ (or the shapes refuse)."""
    pytest.importorskip("torch", reason="PyTorch is not installed")
    block = python_blocks(ROOT / "docs" / "pytorch.md")[0]
    broken = block.replace("weights[name].T.contiguous()", "weights[name].reshape(weights[name].shape[::-1])")
    assert broken != block
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(broken, "docs/pytorch.md", "exec"), {})
    assert printed.getvalue() == "False\n"


def test_the_resume_example_in_getting_started_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The "Save, load and resume" block, after a model like the one the page trains just before it."""
    import tinyae
    from tinyae import models, optim

    text = (ROOT / "docs" / "getting-started.md").read_text()
    block = next(b for b in python_blocks(ROOT / "docs" / "getting-started.md") if "optimizer=opt" in b)
    assert "## Save, load and resume" in text
    monkeypatch.chdir(tmp_path)
    trained = models.Autoencoder([784, 500, 300, 20], activation="relu", loss="l2")
    namespace = {"tinyae": tinyae, "models": models, "optim": optim, "model": trained}
    exec(compile(block, "docs/getting-started.md", "exec"), namespace)
    assert namespace["model"] is not trained
    for a, b in zip(namespace["model"].parameters(), trained.parameters(), strict=True):
        assert (a.numpy() == b.numpy()).all()
    assert namespace["opt"].hyperparameters["lr"] == 1e-3
