"""The ``tinyae`` command: info, train (every recipe, quick) and tutorial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


# --- the command as a user runs it: a subprocess, one line per mistake -----------------------------------
ROOT = Path(__file__).resolve().parent.parent


def tinyae_command(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TINYAE_DATA": str(cwd / "no-data")}
    return subprocess.run(
        [sys.executable, "-m", "tinyae.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "0"], "argument --epochs: must be at least 1, got 0"),
        (["--epochs", "-1"], "argument --epochs: must be at least 1, got -1"),
        (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (["--lr", "0"], "argument --lr: must be a finite number above 0, got 0"),
        (["--lr", "inf"], "argument --lr: must be a finite number above 0, got inf"),
        (["--lr", "nan"], "argument --lr: must be a finite number above 0, got nan"),
        (["--seed", "-3"], "argument --seed: must be at least 0, got -3"),
        (["--backend", "bogus"], "argument --backend: unknown backend 'bogus'"),
        (["--save", ""], "--save is empty"),
        (["--save", "missing-folder/ae.safetensors"], "--save missing-folder/ae.safetensors: the folder"),
        (["--save", "."], "--save .: is a folder"),
        (["--out", "a-file"], "--out a-file: is a file, not a folder"),
        (["--data", "mnist", "--data-dir", "nowhere"], "MNIST train files not found"),
    ],
)
def test_user_errors_are_one_line_with_status_2(args: list[str], message: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = tinyae_command("train", "ae", "--quick", "--quiet", *args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinyae: error: ") and message in lines[0], result.stderr
    assert "training" not in result.stdout  # refused before any work
    assert not (tmp_path / "out").exists()


def test_missing_data_hint_names_a_flag_that_exists(tmp_path: Path) -> None:
    result = tinyae_command("train", "ae", "--data", "mnist", "--data-dir", "nowhere", cwd=tmp_path)
    assert "--data-dir FOLDER" in result.stderr
    debug = tinyae_command("train", "ae", "--data", "mnist", "--data-dir", "nowhere", "--debug", cwd=tmp_path)
    assert (
        "Traceback" in debug.stderr
        and "--data-dir FOLDER" in debug.stderr
        and "data_dir=FOLDER" in debug.stderr
    )


def test_nan_loss_is_one_line_without_warnings(tmp_path: Path) -> None:
    result = tinyae_command("train", "ae", "--quick", "--quiet", "--lr", "1e30", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "loss is nan at step" in lines[0] and "smaller --lr" in lines[0], result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = tinyae_command("train", "ae", "--quick", "--quiet", "--save", "", "--debug", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr and "UserError" in result.stderr


def test_quick_run_prints_its_settings_and_keeps_its_own_folder(tmp_path: Path) -> None:
    result = tinyae_command("train", "tied", "--quick", "--quiet", "--lr", "1000", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "SGD lr 1000, batch 20, 1 epoch," in result.stdout
    folder = tmp_path / "out" / "train_tied_quick"
    assert (folder / "recon.png").exists() and not (tmp_path / "out" / "train_tied").exists()
    assert json.loads((folder / "numbers.json").read_text())["lr"] == 1000


def test_smoke_run_figures_say_so_and_draw_the_loss_per_step() -> None:
    history = tinyae.train.History()
    history.append(
        {
            "epoch": 1,
            "step": 5,
            "loss": 1.0,
            "parts": {"r": 1.0},
            "val_loss": 0.9,
            "val_parts": {"r": 0.9},
            "seconds": 0.1,
            "step_losses": [1.4, 1.2, 1.0, 0.9, 0.8],
        }
    )
    fig = plots.loss_curves(history, title="smoke run (--quick: 500 images, 1 epoch): not a trained model")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step" and len(ax.lines[0].get_xdata()) == 5
    assert "smoke run" in fig.get_suptitle()
    images = np.random.default_rng(0).random((3, 784))
    grid = plots.reconstruction_grid(images, images, title="smoke run")
    assert grid.get_suptitle() == "smoke run"


def test_tutorial_lists_both_tracks_and_refuses_unknown_ones(tmp_path: Path) -> None:
    listing = tinyae_command("tutorial", cwd=tmp_path)
    assert listing.returncode == 0
    for script in sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py")):
        assert f"tutorials/{script.name}" in listing.stdout
    for script in sorted((ROOT / "tutorials" / "engine").glob("[0-9][0-9]_*.py")):
        assert f"tinyae tutorial engine/{int(script.name[:2])}" in listing.stdout
    unknown = tinyae_command("tutorial", "99", cwd=tmp_path)
    assert unknown.returncode == 2 and unknown.stderr.startswith("tinyae: error: no tutorial '99'")


def interrupted(args: list[str], cwd: Path, started: Path) -> tuple[int, str]:
    """Run ``python -m tinyae.cli *args``, wait until it has made ``started``, then press Ctrl-C (SIGINT to
    the whole process group, as a terminal does); the exit status and what it wrote to stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-m", "tinyae.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    os.killpg(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=120)
    return child.returncode, err


def test_ctrl_c_ends_a_tutorial_with_one_line(tmp_path: Path) -> None:
    code, err = interrupted(["tutorial", "2", "--out", str(tmp_path / "t2")], tmp_path, tmp_path / "t2")
    assert code == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1 and "interrupted" in lines[0], err


def test_tutorial_parser_ignores_a_jupyter_kernels_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = cli.tutorial_parser("02_tensorflow_autoencoder", "a test", "epochs")
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/tmp/kernel-1.json"])
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)  # other tests may have imported it
    with pytest.raises(SystemExit):
        parser.parse_args()  # a plain script run this way is refused ...
    monkeypatch.setitem(sys.modules, "ipykernel", sys)  # ... but inside a kernel it reads no arguments
    args = parser.parse_args()
    assert args.quick is False and args.out is None and args.tutorial == "02_tensorflow_autoencoder"


def test_a_tutorial_runs_as_a_notebook_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a Jupyter kernel sys.argv is the kernel's (``-f kernel.json``): the tutorial must ignore it."""
    nbformat = pytest.importorskip("nbformat", reason="needs nbformat (Jupyter)")
    nbclient = pytest.importorskip("nbclient", reason="needs nbclient (Jupyter)")
    pytest.importorskip("ipykernel", reason="needs ipykernel (Jupyter)")
    source = (ROOT / "tutorials" / "01_engine.py").read_text()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports tinyae from this checkout
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    resources = {"metadata": {"path": str(tmp_path)}}
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", resources=resources).execute()
    text = "".join(output.get("text", "") for output in notebook.cells[0].outputs)
    assert "gradcheck: analytic gradients match" in text
    assert (tmp_path / "out" / "01_engine" / "graph.png").exists()


def test_info_reports_data_files_not_empty_folders(tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()  # what a failed download may leave behind
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TINYAE_DATA": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "tinyae.cli", "info"], capture_output=True, text=True, env=env
    )
    line = next(line for line in result.stdout.splitlines() if line.strip().startswith("mnist"))
    assert "train not here" in line and "test not here" in line


def test_ctrl_c_ends_training_with_one_line(tmp_path: Path) -> None:
    args = ["train", "ae", "--quiet", "--epochs", "500", "--out", "o"]
    code, err = interrupted(args, tmp_path, tmp_path / "o")
    assert code == 130 and err.strip() == "tinyae: interrupted (Ctrl-C)", err
