"""The selftest's command line: choose the backend (or fall back to strict), run the checks, write reports."""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import tinyae
from tinyae.backend import gpu_environment
from tinyae.selftest import external, parity
from tinyae.selftest.report import GPU_ONLY, markdown

__all__ = ["main"]

OP_TESTS = ["tests/test_ops.py", "tests/test_backend.py", "tests/test_optim_state.py"]


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, Any]:
    """Versions, machine, every backend's status and the GPU's description (or why there is none)."""
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "tinyae": tinyae.__version__,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "platform": f"{platform.system()} {platform.machine()}",
        "backends": {name: reason or "usable" for name, reason in tinyae.available_backends().items()},
        "gpu": gpu_environment(),
    }


def choose(requested: str) -> tuple[str, str]:
    """The backend to test and, when it is not the one asked for, why."""
    status = tinyae.available_backends()
    if requested not in status:
        raise SystemExit(
            f"tinyae.selftest: error: unknown backend {requested!r}; choose from {sorted(status)}"
        )
    if status[requested] is None:
        return requested, ""
    if status["strict"] is not None:
        raise SystemExit(f"tinyae.selftest: error: {status[requested]}; and {status['strict']}")
    return "strict", f"{status[requested]}. The same checks ran on the strict backend instead."


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tinyae.selftest", description=__doc__)
    parser.add_argument("--backend", default="cupy", help="the backend to prove (default cupy)")
    parser.add_argument("--out", default="selftest-out", help="folder for selftest.json and selftest.md")
    parser.add_argument("--quick", action="store_true", help="seconds, not minutes (the test suite's run)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per model (5; quick 2)")
    parser.add_argument(
        "--tests", nargs="*", default=None, help=f"pytest files (default {' '.join(OP_TESTS)})"
    )
    parser.add_argument("--bench-samples", type=int, default=None, help="samples per timed epoch (12000)")
    parser.add_argument("--bench-repeats", type=int, default=3, help="timed epochs per system (3)")
    parser.add_argument("--test-timeout", type=float, default=150.0, help="seconds allowed to pytest (150)")
    parser.add_argument("--bench-timeout", type=float, default=240.0, help="seconds for the benchmarks (240)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every check; exit status 0 when all that ran passed."""
    args = parse(argv)
    start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment()
    target, fallback = choose(args.backend)
    print(f"tinyae {env['tinyae']}, Python {env['python']}, NumPy {env['numpy']}, {env['platform']}")
    print(f"GPU: {json.dumps(env['gpu'])}")
    if fallback:
        print(f"NOTE: {fallback}")
        print("Only a GPU run proves: " + "; ".join(GPU_ONLY))
    steps = args.steps or (2 if args.quick else 5)
    print(
        f"[1/3] losses of every model on numpy and {target}, {steps} steps, float64 and float32", flush=True
    )
    compared = parity.compare_all(target, steps=steps, width=16 if args.quick else 64)
    tests = args.tests if args.tests is not None else (["tests/test_backend.py"] if args.quick else OP_TESTS)
    print(f"[2/3] pytest -k {target} {' '.join(tests)}", flush=True)
    tested = external.run_pytest(target, tests, args.test_timeout)
    gpu = target == "cupy"
    samples = args.bench_samples or (400 if args.quick else 12000 if gpu else 640)
    workloads = ["W2"] if args.quick else ["W1", "W2", "W3", "W4", "W5"]
    print(
        f"[3/3] benchmarks/train.py {','.join(workloads)}, numpy and {target}, {samples} samples", flush=True
    )
    bench = external.run_benchmarks(
        ["numpy", target], out, samples, args.bench_repeats if gpu else 1, args.bench_timeout, workloads,
        check_steps=50 if gpu else 3,
    )  # fmt: skip
    result = {
        "backend": target,
        "requested": args.backend,
        "fallback": fallback,
        "gpu_ran": target == "cupy",
        "needs_gpu": [] if target == "cupy" else GPU_ONLY,
        "environment": env,
        "parity": compared,
        "pytest": tested,
        "benchmarks": bench,
        "seconds": round(time.perf_counter() - start, 1),
    }
    checks = [all(r["ok"] for r in compared), tested["ok"] is not False, bench["ok"] is not False]
    result["ok"] = all(checks)
    (out / "selftest.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    text = markdown(result)
    (out / "selftest.md").write_text(text)
    print(text)
    print(f"{'ALL CHECKS PASSED' if result['ok'] else 'SOME CHECKS FAILED'} in {result['seconds']} s; "
          f"reports in {out}/selftest.json and {out}/selftest.md")  # fmt: skip
    return 0 if result["ok"] else 1
