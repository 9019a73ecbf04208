"""Tutorials 6-9 run in --quick mode (numpy, strict) without warnings and write whole PNGs and numbers."""

from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tinyae.plots import check_png

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"

# Per tutorial: each PNG with its smallest (width, height) in pixels (the plots draw at 100 dpi: a filter tile
# is 6 x 6 inches, a digit in a grid 1 inch), and the top-level keys of its numbers.json.
EXPECTED: dict[str, tuple[dict[str, tuple[int, int]], set[str]]] = {
    "06_contractive_autoencoder.py": (
        {
            "filters_contractive.png": (600, 600),
            "filters_plain.png": (600, 600),
            "loss_contractive.png": (1000, 400),  # total and parts panels
            "penalty.png": (500, 400),
            "jacobian_histogram.png": (600, 400),
            "reconstructions.png": (1000, 200),
        },
        {
            "settings",
            "train_loss",
            "test_loss",
            "parts",
            "test_parts",
            "test_jacobian_per_epoch",
            "test_jacobian_final",
            "seconds",
        },
    ),
    "07_batchnorm_autoencoder.py": (
        {"loss.png": (500, 400), "reconstructions.png": (1000, 300), "modes.png": (1000, 400)},
        {
            "settings",
            "train_loss",
            "test_loss",
            "batch_loss_before",
            "batch_loss_after",
            "batch_dependence",
            "epoch_seconds",
            "seconds",
        },
    ),
    "08_stacked_autoencoder.py": (
        {
            "reconstructions.png": (1000, 200),
            "pretraining.png": (500, 400),
            "filters_layer1.png": (600, 600),
            "classifiers.png": (500, 400),
        },
        {
            "settings",
            "end_to_end",
            "pretraining_loss",
            "classifier_loss",
            "test_accuracy",
            "final_accuracy",
            "seconds",
        },
    ),
    "09_vae_anomaly_detection.py": (
        {
            "reconstructions_normal.png": (
                300,
                300,
            ),  # quick mode may hold fewer than 10 test images per class
            "reconstructions_anomaly.png": (300, 300),
            "histogram_l2.png": (600, 400),
            "histogram_elbo.png": (600, 400),
            "histogram_probability.png": (600, 400),
            "roc.png": (500, 500),
            "prior_samples.png": (800, 800),
            "latent_scatter.png": (600, 500),
            "latent_manifold.png": (600, 600),
        },
        {
            "settings",
            "train_loss",
            "test_loss",
            "parts",
            "auc",
            "mean_scores",
            "map_train_loss",
            "map_test_loss",
            "seconds",
        },
    ),
}


def check_06(numbers: dict[str, Any]) -> None:
    epochs = numbers["settings"]["epochs"]
    assert set(numbers["parts"]) == {"reconstruction", "contraction"}
    for name in ("contractive", "plain"):
        assert len(numbers["train_loss"][name]) == len(numbers["test_jacobian_per_epoch"][name]) == epochs
        assert 0 < numbers["test_jacobian_final"][name] < math.inf


def check_07(numbers: dict[str, Any]) -> None:
    assert len(numbers["train_loss"]) == len(numbers["test_loss"]) == numbers["settings"]["epochs"]
    # a sample's output depends on its batch in training mode only
    assert numbers["batch_dependence"]["train"] > 1e-3
    assert numbers["batch_dependence"]["eval"] < 1e-4
    assert set(numbers["batch_loss_after"]) == {"train", "eval"}


def check_08(numbers: dict[str, Any]) -> None:
    assert len(numbers["pretraining_loss"]) == 2  # one history per layer: 784-128 and 128-64
    for name in ("pretrained", "from scratch"):
        assert len(numbers["test_accuracy"][name]) == numbers["settings"]["epochs"][2]
        assert 0.0 <= numbers["final_accuracy"][name] <= 1.0


def check_09(numbers: dict[str, Any]) -> None:
    assert set(numbers["auc"]) == {"l2", "elbo", "probability"}
    assert all(0.0 <= auc <= 1.0 for auc in numbers["auc"].values())
    assert set(numbers["parts"]) == {"reconstruction", "kl"}


CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "06_contractive_autoencoder.py": check_06,
    "07_batchnorm_autoencoder.py": check_07,
    "08_stacked_autoencoder.py": check_08,
    "09_vae_anomaly_detection.py": check_09,
}


def run_quick(script: str, out: Path, backend: str) -> subprocess.CompletedProcess[str]:
    """``python -W error tutorials/<script> --quick --backend B --out DIR``: any warning fails the run."""
    # One BLAS thread: these runs multiply small matrices, and when the suite shares the cores with other
    # work, BLAS threads waiting on each other make them tens of times slower (results do not change).
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            str(TUTORIALS / script),
            "--quick",
            "--backend",
            backend,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["numpy", "strict"])  # strict: the tutorials would run on CuPy too
@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_tutorial_quick_run_writes_pictures_and_numbers(tmp_path: Path, script: str, backend: str) -> None:
    result = run_quick(script, tmp_path, backend)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # no warnings, no progress bars
    assert str(tmp_path) in result.stdout.splitlines()[-1]  # the last line says where the pictures went
    pictures, keys = EXPECTED[script]
    for name, min_size in pictures.items():
        check_png(tmp_path / name, min_size=min_size)
    written = {path.name for path in tmp_path.glob("*.png")}
    assert written == set(pictures), f"unexpected PNGs: {sorted(written ^ set(pictures))}"
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert set(numbers) == keys
    assert numbers["settings"]["backend"] == backend
    assert numbers["settings"]["data"] == "sample"

    CHECKS[script](numbers)


def tf1_options_missing(script: str) -> str | None:
    """Why ``script --faithful`` cannot run yet: the TF1 options of RMSprop / Adam it needs, if missing."""
    from tinyae import optim

    needs = {"07": (optim.Adam, "eps_hat"), "08": (optim.RMSprop, "initial_accumulator_value"),
             "09": (optim.Adam, "eps_hat")}[script[:2]]  # fmt: skip
    if needs[1] in inspect.signature(needs[0]).parameters:
        return None
    return f"optim.{needs[0].__name__} has no {needs[1]!r} option yet (TF1 semantics, helper optim's branch)"


@pytest.mark.slow
@pytest.mark.parametrize(
    "script", ["07_batchnorm_autoencoder.py", "08_stacked_autoencoder.py", "09_vae_anomaly_detection.py"]
)
def test_tutorial_faithful_quick(tmp_path: Path, script: str) -> None:
    """``--faithful --quick``: the post's settings for one epoch, its figures printed beside tinyae's."""
    reason = tf1_options_missing(script)
    if reason is not None:
        pytest.skip(reason)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-W", "error", str(TUTORIALS / script), "--quick", "--faithful"]
    result = subprocess.run(
        [*command, "--out", str(tmp_path)], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert numbers["settings"]["faithful"] is True
    if script.startswith("07"):
        assert numbers["batch_dependence"]["eval"] < 1e-4
    elif script.startswith("08"):
        assert "post's MSE" in result.stdout and "96.16%" in result.stdout
        assert len(numbers["pretraining_loss"]) == numbers["settings"]["epochs"] == 1
        assert numbers["post_loss"]["0"] == 0.18 and 0.0 <= numbers["test_accuracy"] <= 1.0
    else:
        assert set(numbers["auc"]) == {"l2", "elbo", "probability", "unregularised"}
        check_png(tmp_path / "histogram_unregularised.png", min_size=(600, 400))
