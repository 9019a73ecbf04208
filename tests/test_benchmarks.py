"""The benchmark scripts run in a tiny ``--quick`` configuration and write their JSON, table and plot.

Each script runs as a subprocess (as a user runs it: ``python benchmarks/<script>.py``) with warnings turned
into errors, on numpy and on the strict Array-API backend, which runs the same ``xp`` code as the GPU rows,
so that those cannot rot unseen on a machine without a GPU.  The float64 run of ``train.py`` is the
correctness proof of both the hand-written NumPy workloads and tinyae's: from the same weights, after a few
steps, their losses and parameters agree to rounding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
WORKLOADS = ["W1", "W2", "W2p", "W3", "W4", "W5", "W5p"]  # W2p, W5p: the default --loss-form both
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# one BLAS/OpenMP thread: the tests check code paths, not speed, and a BLAS thread that waits for a busy
# core on a shared 2-core machine can make a tiny run many times slower
QUIET_THREADS = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_script(tmp_path: Path, script: str, *args: str) -> tuple[str, dict[str, Any]]:
    """Run ``benchmarks/<script>`` writing ``--json`` and ``--plot`` into ``tmp_path``: stdout and JSON."""
    out_json, out_png = tmp_path / "out.json", tmp_path / "out.png"
    outputs = ["--json", str(out_json), "--plot", str(out_png)]
    result = subprocess.run(
        [sys.executable, "-W", "error", str(BENCHMARKS / script), *args, *outputs],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env=QUIET_THREADS,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert out_png.read_bytes()[:8] == PNG_MAGIC
    report = json.loads(out_json.read_text())
    assert report["environment"]["numpy"]
    assert "gpu" in report["environment"]
    return result.stdout, report


def test_train_quick_float32(tmp_path: Path) -> None:
    stdout, report = run_script(tmp_path, "train.py", "--quick")
    assert report["check_failed"] == []
    names = report["systems"]
    assert names[:2] == ["numpy by hand", "tinyae (numpy)"]
    # without a GPU the cupy rows are named and skipped with CuPy's reason, never silently dropped
    assert "tinyae (cupy)" in names or "tinyae (cupy)" in report["skipped"]
    for key in WORKLOADS:
        result = report["workloads"][key]
        assert result["gemm"]["cpu"]["bound_seconds"] > 0
        for name in names:
            timing = result["timing"][name]
            assert len(timing["samples_s"]) == 2
            assert 0 < timing["min"] <= timing["median"]
            check = result["check"]["systems"][name]
            assert check["ok"]
            assert check["relative_loss_diff"] < 1e-3
    assert "| workload | batch | steps | numpy by hand | tinyae (numpy)" in stdout
    assert "Same results" in stdout


def test_train_isolate_times_each_epoch_in_its_own_process(tmp_path: Path) -> None:
    _, report = run_script(
        tmp_path, "train.py", "--quick", "--isolate", "--no-torch", "--workloads", "W2", "--backend", "strict"
    )
    assert report["args"]["isolate"] is True
    timing = report["workloads"]["W2"]["timing"]
    assert set(timing) == {"numpy by hand", "tinyae (strict)"}
    for name, row in timing.items():
        assert len(row["samples_s"]) == 2 and all(s > 0 for s in row["samples_s"]), name
    assert report["check_failed"] == []


def test_train_float64_hand_numpy_agrees_with_tinyae(tmp_path: Path) -> None:
    """Same weights, same batches, same noise: after 5 updates the losses and parameters of the hand-written
    NumPy workloads and of tinyae (numpy and strict) agree to rounding in float64."""
    _, report = run_script(
        tmp_path,
        "train.py",
        "--quick",
        "--dtype",
        "float64",
        "--backend",
        "numpy,strict",
        "--no-torch",
        "--check-steps",
        "5",
        "--epoch-samples",
        "512",
        "--repeats",
        "1",
    )
    assert report["systems"] == ["numpy by hand", "tinyae (numpy)", "tinyae (strict)"]
    for key in WORKLOADS:
        checked = report["workloads"][key]["check"]
        assert checked["steps"] == 5
        hand_losses = checked["systems"]["numpy by hand"]["losses"]
        assert len(hand_losses) == 6
        for name in ("tinyae (numpy)", "tinyae (strict)"):
            check = checked["systems"][name]
            assert check["max_relative_loss_diff"] < 1e-12, (key, name, check)
            assert check["relative_param_diff"] < 1e-10, (key, name, check)
        assert hand_losses[-1] != hand_losses[0]  # the steps did train


def test_train_loss_form_probs_runs_the_probability_form_only(tmp_path: Path) -> None:
    """``--loss-form probs`` swaps W2 (cross-entropy from the logits) for W2p (sigmoid, then the
    cross-entropy of the probabilities), and all three systems agree on it."""
    stdout, report = run_script(
        tmp_path, "train.py", "--quick", "--loss-form", "probs", "--workloads", "w1,w2", "--repeats", "1"
    )
    assert list(report["workloads"]) == ["W1", "W2p"]
    assert report["check_failed"] == []
    checked = report["workloads"]["W2p"]["check"]["systems"]
    assert checked["numpy by hand"]["losses"][-1] != checked["numpy by hand"]["losses"][0]
    assert "| W2p tied AE" in stdout


def test_roofline_quick(tmp_path: Path) -> None:
    stdout, report = run_script(
        tmp_path, "roofline.py", "--quick", "--backend", "numpy,strict", "--workloads", "W1,W2,W5"
    )
    for backend in ("numpy", "strict"):
        w1 = report["results"][backend]["W1"]
        # six layers: six forward and six weight-gradient products, and input gradients for all but the first
        assert [g["role"] for g in w1["gemms"]].count("input grad") == 5
        assert len(w1["gemms"]) == 17
        assert w1["steps"] == 600
        assert w1["bound_seconds"] == pytest.approx(600 * sum(g["seconds"] for g in w1["gemms"]))
        w2 = report["results"][backend]["W2"]
        # the tied decoder multiplies by the encoder's weight transposed
        assert [g["b_t"] for g in w2["gemms"] if g["role"] == "forward"] == [False, True]
        assert len(report["results"][backend]["W5"]["gemms"]) == 14
    assert "GEMM-bound time per epoch" in stdout


def test_ops_quick(tmp_path: Path) -> None:
    stdout, report = run_script(tmp_path, "ops.py", "--quick", "--backend", "numpy,strict")
    results = report["results_seconds"]
    assert {"linear 784->500", "sigmoid", "batch_norm", "bce_with_logits", "gaussian_kl"} <= set(results)
    for op, sizes in results.items():
        assert "tiny" in sizes and "64" in sizes, op
        for systems in sizes.values():
            assert set(systems) == {"tinyae (numpy)", "bare (numpy)", "tinyae (strict)", "bare (strict)"}
            assert all(s["median"] > 0 for s in systems.values())
    assert len(report["traps"]["numpy"]) == 7
    assert "tinyae / bare arrays" in stdout


def test_overhead_quick(tmp_path: Path) -> None:
    stdout, report = run_script(tmp_path, "overhead.py", "--quick", "--backend", "numpy,strict")
    assert set(report["summary"]) == {"numpy by hand", "tinyae (numpy)", "tinyae (strict)"}
    for check in report["check"].values():
        assert check["max_rel_grad_diff"] < 1e-4
        assert check["loss_tinyae"] == pytest.approx(check["loss_by_hand"], rel=1e-5)
    assert "ratio to by hand" in stdout


def test_batch1_quick(tmp_path: Path) -> None:
    stdout, report = run_script(tmp_path, "batch1.py", "--quick", "--backend", "strict")
    assert len(report["summary"]) == 3 and "tinyae / by hand" in stdout


def test_breakdown_quick(tmp_path: Path) -> None:
    stdout, report = run_script(
        tmp_path, "breakdown.py", "--quick", "--backend", "strict", "--workloads", "W2,W5"
    )
    for key in ("W2", "W5"):
        result = report["results"][key]
        parts = result["parts"]
        assert {"optimizer step", "Linear.forward", "Linear.backward"} <= set(parts)
        assert "engine, modules, loop (unclocked)" in parts
        assert sum(parts.values()) == pytest.approx(result["step_seconds"], rel=1e-9)
    assert "Reparameterize.forward" in report["results"]["W5"]["parts"]
    assert "ms a step" in stdout


def test_compare_trees_times_this_checkout_against_itself() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "compare_trees.py"),
            str(BENCHMARKS.parent),
            str(BENCHMARKS.parent),
            "--workloads",
            "W2",
            "--rounds",
            "1",
            "--steps",
            "2",
            "--warmup",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("| W2 |")]
    assert len(rows) == 2 and all(float(row.split("|")[3]) > 0 for row in rows)
