"""Tutorials 2-5 run in --quick mode as scripts and write the figures and numbers their docstrings list.

Each runs on numpy, tutorial 3 on strict too, and each on cupy where a GPU is present.  The scripts run
with ``-W error``, so a warning they print fails the test.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tinyae
from tinyae.plots import check_png

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"

# the figures each tutorial writes, with their minimum size in pixels (figure inches x 100 dpi)
FIGURES = {
    "02_tensorflow_autoencoder.py": {
        "loss.png": (500, 400),
        "reconstructions.png": (1000, 200),
        "anomaly_scores.png": (600, 400),
        "roc.png": (500, 500),
    },
    "03_tied_autoencoder.py": {"filters.png": (600, 600), "reconstructions.png": (1000, 400)},
    "04_denoising_autoencoder.py": {
        "denoising.png": (1000, 400),
        "filters_plain.png": (600, 600),
        "filters_denoising.png": (600, 600),
    },
    "05_sparse_autoencoder.py": {
        "filters.png": (600, 600),
        "loss_parts.png": (1000, 400),
        "activations.png": (600, 400),
    },
}

COMMON_KEYS = {"backend", "data", "epochs", "seconds"}
KEYS = {
    "02_tensorflow_autoencoder.py": {"loss", "val_loss", "test_score", "anomaly_digit", "auc", "auc_seen"},
    "03_tied_autoencoder.py": {"hidden_sizes", "loss", "test_loss"},
    "04_denoising_autoencoder.py": {
        "noise_level",
        "loss_plain",
        "loss_denoising",
        "test_loss_plain",
        "test_loss_denoising",
        "denoise_error_plain",
        "denoise_error_denoising",
    },
    "05_sparse_autoencoder.py": {
        "rho",
        "beta",
        "weight_decay",
        "loss",
        "parts",
        "test_loss",
        "mean_activation",
        "mean_activation_no_penalty",
    },
}

GPU = pytest.mark.gpu
CASES = [
    pytest.param(script, backend, marks=GPU if backend == "cupy" else (), id=f"{script[:2]}-{backend}")
    for script in FIGURES
    for backend in ("numpy", "strict", "cupy")
    if backend != "strict" or script.startswith("03")
]


def run_quick(script: str, backend: str, out: Path) -> dict[str, Any]:
    """Run ``script --quick`` with warnings as errors; return its numbers.json."""
    command = [sys.executable, "-W", "error", str(TUTORIALS / script), "--quick", "--backend", backend]
    result = subprocess.run(
        [*command, "--out", str(out)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    assert str(out) in result.stdout  # it says where the pictures went
    numbers: dict[str, Any] = json.loads((out / "numbers.json").read_text())
    return numbers


def check_specific(script: str, numbers: dict[str, Any]) -> None:
    """What each tutorial's numbers must say, even after a one- or two-epoch run."""
    epochs = numbers["epochs"]
    if script.startswith("02"):
        assert len(numbers["loss"]) == len(numbers["val_loss"]) == epochs
        assert math.isfinite(numbers["test_score"]) and numbers["test_score"] > 0
        assert 0.0 <= numbers["auc"] <= 1.0 and 0.0 <= numbers["auc_seen"] <= 1.0
    elif script.startswith("03"):
        assert numbers["hidden_sizes"] == [500, 100, 10]
        assert all(len(numbers["loss"][str(n)]) == epochs for n in numbers["hidden_sizes"])
        assert numbers["test_loss"]["500"] < numbers["test_loss"]["10"]  # a wider code reconstructs better
    elif script.startswith("04"):
        assert numbers["noise_level"] == 0.3
        assert len(numbers["loss_plain"]) == len(numbers["loss_denoising"]) == epochs
        assert numbers["denoise_error_plain"] > 0 and numbers["denoise_error_denoising"] > 0
    else:
        assert set(numbers["parts"]) == {"reconstruction", "sparsity", "weight_decay"}
        assert all(len(values) == epochs for values in numbers["parts"].values())
        assert numbers["parts"]["sparsity"][-1] < numbers["parts"]["sparsity"][0]
        assert numbers["mean_activation"] < numbers["mean_activation_no_penalty"]


@pytest.mark.slow
@pytest.mark.parametrize(("script", "backend"), CASES)
def test_tutorial_quick(tmp_path: Path, script: str, backend: str) -> None:
    reason = tinyae.available_backends()[backend]
    if reason is not None:
        pytest.skip(reason)
    numbers = run_quick(script, backend, tmp_path)
    for name, min_size in FIGURES[script].items():
        assert (tmp_path / name).stat().st_size > 0, name
        check_png(tmp_path / name, min_size=min_size)
    assert COMMON_KEYS | KEYS[script] <= set(numbers), sorted(COMMON_KEYS | KEYS[script] - set(numbers))
    assert numbers["backend"] == backend and numbers["data"] == "sample"
    assert numbers["epochs"] in (1, 2) and numbers["seconds"] > 0
    check_specific(script, numbers)


@pytest.mark.slow
@pytest.mark.parametrize("script", ["02_tensorflow_autoencoder.py", "03_tied_autoencoder.py"])
def test_tutorial_faithful_quick(tmp_path: Path, script: str) -> None:
    """``--faithful`` runs the post's settings; in quick mode one epoch, and the numbers say so."""
    command = [sys.executable, "-W", "error", str(TUTORIALS / script), "--quick", "--faithful"]
    result = subprocess.run(
        [*command, "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    if script.startswith("02"):
        # the post's flow: a validation score every epoch, then one test score, l2 loss per image
        assert numbers["faithful"] is True and len(numbers["val_score"]) == numbers["epochs"] == 1
        assert 0 < numbers["test_score"] < 0.5 * 784  # 0.5 |x - xhat|^2 with pixels in [0, 1]
        assert "Test score (l2 loss / number of images)" in result.stdout
    else:
        assert numbers["init"] == "sigmoid_uniform"
        assert "post's rank" in result.stdout
        assert numbers["test_loss"]["500"] < numbers["test_loss"]["10"]
