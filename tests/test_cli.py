"""The ``tinyae`` command: info, train (every recipe, quick) and tutorial."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinyae
from tinyae import cli, plots


def test_info_lists_backends_and_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["info"]) == 0
    text = capsys.readouterr().out
    assert "numpy   available" in text and "strict  available" in text
    assert "cupy" in text and "sample  embedded, 5000 MNIST digits" in text


@pytest.mark.parametrize("model", sorted(cli.RECIPES))
def test_train_every_recipe_quickly(model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["train", model, "--quick", "--quiet", "--out", str(tmp_path)]) == 0
    assert "pictures in" in capsys.readouterr().out
    for name in ("recon.png", "loss.png"):
        plots.check_png(tmp_path / name, min_size=(300, 100))
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert len(numbers["train_loss"]) == 1 and np.isfinite(numbers["test_loss"]).all()


def test_train_saves_a_checkpoint_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "ae.npz"
    cli.main(["train", "tied", "--quick", "--quiet", "--out", str(tmp_path), "--save", str(path)])
    model = tinyae.load(path)
    assert type(model).__name__ == "TiedAutoencoder"


def test_tutorial_runs_by_number_and_refuses_unknown_ones(tmp_path: Path) -> None:
    assert cli.main(["tutorial", "1", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "numbers.json").exists()
    assert cli.main(["tutorial", "99"]) == 2


def test_module_entry_point() -> None:
    result = subprocess.run([sys.executable, "-m", "tinyae.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "tutorial" in result.stdout
