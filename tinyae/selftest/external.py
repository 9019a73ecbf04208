"""The checks that live in the source checkout: the op-spec tests (pytest) and ``benchmarks/train.py``.

Both run in a child process (a fresh interpreter, its own time limit) from the checkout root, which is the
folder holding ``tinyae/``, ``tests/`` and ``benchmarks/``.  An installed tinyae without its checkout skips
them and says so.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["checkout_root", "run_benchmarks", "run_pytest"]


def checkout_root() -> Path | None:
    """The source checkout tinyae was imported from, or None for an installed copy."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "tests" / "op_specs.py").is_file() and (root / "benchmarks").is_dir() else None


def _run(command: list[str], root: Path, timeout: float) -> tuple[int | None, str, float]:
    """(exit status or None on timeout, combined output, seconds), with the checkout on PYTHONPATH."""
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    )
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or b"").decode() if isinstance(error.stdout, bytes) else (error.stdout or "")
        return None, output, time.perf_counter() - start
    return done.returncode, done.stdout + done.stderr, time.perf_counter() - start


def run_pytest(backend: str, files: list[str], timeout: float) -> dict[str, Any]:
    """``pytest FILES -k BACKEND``: the tests parametrised over the ``backend`` fixture, on that backend."""
    root = checkout_root()
    if root is None:
        return {"ran": False, "ok": None, "why": "no source checkout (tests/ and benchmarks/) next to tinyae"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", backend, *files]
    status, output, seconds = _run(command, root, timeout)
    counts = {
        word: int(number)
        for number, word in re.findall(
            r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)", output
        )
    }
    failures = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return {
        "ran": True,
        "ok": status == 0 and counts.get("passed", 0) > 0,
        "command": " ".join(command[1:]),
        "exit_status": status,
        "timed_out": status is None,
        "seconds": round(seconds, 1),
        "counts": counts,
        "failures": failures[:20],
        "tail": output[-3000:],
    }


def run_benchmarks(
    backends: list[str],
    out: Path,
    samples: int,
    repeats: int,
    timeout: float,
    workloads: Sequence[str] = ("W1", "W2", "W3", "W4", "W5"),
    check_steps: int = 50,
) -> dict[str, Any]:
    """``benchmarks/train.py`` for hand-written NumPy and tinyae on ``backends``, timed side by side (the
    systems take turns, the device is synchronised before each clock read).  One process per workload,
    all sharing ``timeout`` seconds, so that a slow one still leaves the others' results."""
    root = checkout_root()
    if root is None:
        return {"ran": False, "ok": None, "why": "no source checkout (tests/ and benchmarks/) next to tinyae"}
    deadline = time.perf_counter() + timeout
    result: dict[str, Any] = {"ran": True, "ok": True, "timed_out": False, "epoch_samples": samples}
    result |= {"median_seconds_per_epoch": {}, "check_failed": [], "runs": {}}
    for key in workloads:
        report = (out / f"train_{key}.json").resolve()
        command = [sys.executable, "benchmarks/train.py", "--backend", ",".join(backends), "--no-torch"]
        command += ["--workloads", key, "--epoch-samples", str(samples), "--repeats", str(repeats)]
        command += ["--check-steps", str(check_steps), "--json", str(report)]
        left = deadline - time.perf_counter()
        if left < 1:
            result |= {"ok": False, "timed_out": True}
            result["runs"][key] = {"ran": False, "why": f"no time left of the {timeout:.0f} s allowed"}
            continue
        status, output, seconds = _run(command, root, left)
        result["runs"][key] = {
            "command": " ".join(command[1:]),
            "exit_status": status,
            "seconds": round(seconds, 1),
        }
        if status is None:
            result["timed_out"] = True
        if status != 0:
            result["ok"] = False
            result["runs"][key]["tail"] = output[-3000:]
        if report.is_file():
            data = json.loads(report.read_text())
            result["median_seconds_per_epoch"] |= data["median_seconds_per_epoch"]
            result["check_failed"] += data["check_failed"]
    result["seconds"] = round(timeout - max(deadline - time.perf_counter(), 0.0), 1)
    return result
