"""What every benchmark script shares: options, alternating timing, the environment, tables, JSON, plots.

The rules (DESIGN.md section 7): warm up first; time the compared systems alternately, so that a slow spell
of a shared machine hits all of them alike; synchronise the GPU before each clock read; report the median
and the minimum, and ratios measured side by side in one run, never absolute pass/fail times.

matplotlib is imported only when a plot is asked for (``--plot``); benchmarks are not part of the package.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

import tinyae

__all__ = [
    "add_common_arguments",
    "environment",
    "environment_lines",
    "markdown_table",
    "new_figure",
    "resolve_backends",
    "save_figure",
    "summarize",
    "time_alternating",
    "write_json",
]

OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
RUN_HINT = "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/<script>.py ..."


# --- options ------------------------------------------------------------------------------------------------


def add_common_arguments(parser: argparse.ArgumentParser, repeats: int, backend: str = "auto") -> None:
    """``--backend``, ``--repeats``, ``--json OUT``, ``--plot OUT.png`` and ``--quick``."""
    parser.add_argument(
        "--backend",
        default=backend,
        help="tinyae backend(s), comma-separated: numpy, strict, cupy; 'auto' = numpy, and cupy when a GPU "
        f"is usable (default {backend})",
    )
    parser.add_argument("--repeats", type=int, default=None, help=f"timed repeats (default {repeats})")
    parser.add_argument("--json", metavar="OUT", help="write the environment, settings and all samples here")
    parser.add_argument("--plot", metavar="OUT.png", help="draw the results into this PNG file")
    parser.add_argument("--quick", action="store_true", help="a small, fast run (for tests and smoke checks)")
    parser.set_defaults(default_repeats=repeats)


def resolve_backends(spec: str) -> tuple[list[str], dict[str, str]]:
    """The usable tinyae backends named by ``spec`` and, for the unusable ones, why.

    ``"auto"`` means numpy plus cupy; cupy is listed as skipped (with CuPy's own reason) without a GPU.
    """
    names = ["numpy", "cupy"] if spec == "auto" else [s.strip() for s in spec.split(",") if s.strip()]
    status = tinyae.available_backends()
    usable, skipped = [], {}
    for name in names:
        if name not in status:
            raise SystemExit(f"unknown backend {name!r}; choose from {sorted(status)} or 'auto'")
        if status[name] is None:
            usable.append(name)
        else:
            skipped[name] = str(status[name])
    if not usable:
        raise SystemExit(f"none of the backends {names} is usable here: {skipped}")
    return usable, skipped


# --- timing -------------------------------------------------------------------------------------------------


def time_alternating(
    systems: Mapping[str, Callable[[], Any]],
    repeats: int,
    sync: Callable[[], None] | Mapping[str, Callable[[], None]],
    warmup: int = 5,
) -> dict[str, list[float]]:
    """Seconds per call of each system: ``warmup`` untimed calls each, then ``repeats`` rounds in which every
    system runs once, in turn.  ``sync`` (one function, or one per system) waits for the device; it is
    called before and after each timed call, so that queued GPU work is neither missed nor charged twice.
    """
    syncs = sync if isinstance(sync, Mapping) else dict.fromkeys(systems, sync)
    for name, run in systems.items():  # warm-up: allocator, BLAS threads, caches, lazy state
        for _ in range(warmup):
            run()
        syncs[name]()
    samples: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(repeats):
        for name, run in systems.items():
            syncs[name]()
            start = time.perf_counter()
            run()
            syncs[name]()
            samples[name].append(time.perf_counter() - start)
    return samples


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """``{"median": ..., "min": ...}`` of a list of seconds."""
    return {"median": statistics.median(samples), "min": min(samples)}


# --- the environment ----------------------------------------------------------------------------------------


def environment(extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Versions, CPU, BLAS and its threads (threadpoolctl), OpenBLAS variables, GPU, load and date."""
    info: dict[str, Any] = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tinyae": tinyae.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "environment_variables": {name: os.environ.get(name) for name in OPENBLAS_VARIABLES},
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: pool.get(k) for k in ("user_api", "internal_api", "version", "num_threads", "architecture")}
            for pool in threadpool_info()
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed (pip install threadpoolctl)"
    torch = sys.modules.get("torch")  # reported when a script imported it, never imported just for this
    if torch is not None:
        info["torch"] = {"version": torch.__version__, "threads": torch.get_num_threads()}
    info["gpu"] = _gpu()
    if extra:
        info.update(extra)
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _gpu() -> dict[str, Any]:
    reason = tinyae.available_backends()["cupy"]
    if reason is not None:
        return {"available": False, "reason": reason}
    cupy = tinyae.get_backend("cupy").module
    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    name = props["name"]
    return {
        "available": True,
        "name": name.decode() if isinstance(name, bytes) else str(name),
        "cupy": cupy.__version__,
        "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
    }


def environment_lines(env: Mapping[str, Any]) -> list[str]:
    """The environment as a few readable lines (printed at the top of every script)."""
    lines = [
        f"date {env['date']}; Python {env['python']}, NumPy {env['numpy']}, tinyae {env['tinyae']}",
        f"CPU {env['cpu']} ({env['cpus']} usable), {env['platform']}; load average {env['load_average']}",
    ]
    blas = env["blas"]
    if isinstance(blas, str):
        lines.append(f"BLAS: {blas}")
    else:
        for pool in blas:
            version = f" {pool['version']}" if pool["version"] else ""
            architecture = f", architecture {pool['architecture']}" if pool["architecture"] else ""
            lines.append(
                f"thread pool {pool['internal_api']}{version} ({pool['user_api']}): "
                f"{pool['num_threads']} threads{architecture}"
            )
    set_vars = {k: v for k, v in env["environment_variables"].items() if v is not None}
    if set_vars:
        listed = ", ".join(f"{k}={v}" for k, v in set_vars.items())
        lines.append(f"set: {listed}  (benchmarks/README.md runs the scripts with `env -u ...`)")
    if "torch" in env:
        lines.append(f"PyTorch {env['torch']['version']}, {env['torch']['threads']} threads")
    gpu = env["gpu"]
    if gpu["available"]:
        lines.append(f"GPU {gpu['name']} (CuPy {gpu['cupy']}, CUDA runtime {gpu['cuda_runtime']})")
    else:
        lines.append(f"no GPU rows: {gpu['reason']}")
    return lines


# --- output -------------------------------------------------------------------------------------------------


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub markdown table (cells are str()-ed)."""
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_json(path: str, report: Mapping[str, Any]) -> None:
    with open(path, "w") as out:
        json.dump(report, out, indent=2, default=_jsonable)
    print(f"\nJSON written to {path}")


def new_figure(width: float, height: float, rows: int = 1, cols: int = 1) -> tuple[Any, Any]:
    """A matplotlib ``Figure`` (no pyplot, no display needed) and its axes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.subplots(rows, cols, squeeze=False)


def save_figure(figure: Any, path: str) -> None:
    figure.savefig(path, dpi=110)
    print(f"plot written to {path}")
