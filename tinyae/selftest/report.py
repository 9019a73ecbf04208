"""The selftest's markdown report, built from the same dictionary that is written as JSON."""

from __future__ import annotations

from typing import Any

__all__ = ["GPU_ONLY", "markdown"]

GPU_ONLY = [
    "CuPy's kernels and cuBLAS compute the ops (the strict stand-in runs NumPy underneath)",
    "array-api-compat's CuPy wrappers (strict never runs them)",
    "the `out=` path of `Backend.into` on device arrays (strict computes, then copies)",
    "stream synchronisation before each clock read, and the CPU/GPU timings themselves",
]


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _verdict(check: dict[str, Any]) -> str:
    if not check.get("ran", True):
        return f"not run: {check['why']}"
    if check.get("timed_out"):
        return "TIMED OUT"
    return "ok" if check["ok"] else "FAILED"


def markdown(result: dict[str, Any]) -> str:
    """A readable summary: environment, one row per check, the loss comparison and the timings."""
    env, target = result["environment"], result["backend"]
    lines = [f"# tinyae selftest on `{target}` ({env['date']})", ""]
    if result["fallback"]:
        lines += [f"**No GPU check ran**: {result['fallback']}", ""]
    gpu = env["gpu"]
    if gpu["available"]:
        lines.append(
            f"- GPU: {gpu['device']}, {gpu['memory_gib']} GiB; CuPy {gpu['cupy']}, CUDA runtime "
            f"{gpu['cuda_runtime']}, driver {gpu['cuda_driver']}; array-api-compat {gpu['array_api_compat']}"
        )
    lines += [
        f"- tinyae {env['tinyae']}, Python {env['python']}, NumPy {env['numpy']}, {env['platform']}",
        f"- backends: {env['backends']}",
        "",
        "## Checks",
        "",
    ]
    parity = result["parity"]
    passed = sum(r["ok"] for r in parity)
    worst = {
        d: max((r["max_rel_diff"] for r in parity if r["dtype"] == d), default=0.0)
        for d in ("float64", "float32")
    }
    tests, bench = result["pytest"], result["benchmarks"]
    rows = [
        [
            "losses, every model, same weights",
            f"numpy vs {target}",
            "ok" if passed == len(parity) else "FAILED",
            f"{passed}/{len(parity)} within tolerance; worst rel. diff float64 {worst['float64']:.1e}, "
            f"float32 {worst['float32']:.1e}",
        ],
        [
            "op-spec tests",
            target,
            _verdict(tests),
            str(tests.get("counts", "")) + f" in {tests.get('seconds', 0)} s",
        ],
        ["W1-W5 training epochs", f"numpy vs {target}", _verdict(bench), f"{bench.get('seconds', 0)} s"],
    ]
    lines += [
        *_table(["check", "backends", "result", "details"], rows),
        "",
        "## Losses (relative difference)",
        "",
    ]
    lines += _table(
        ["model", "dtype", "max rel. diff", "tolerance", "result"],
        [
            [
                r["model"],
                r["dtype"],
                f"{r['max_rel_diff']:.1e}",
                r["tolerance"],
                "ok" if r["ok"] else "FAILED",
            ]
            for r in parity
        ],
    )
    medians = bench.get("median_seconds_per_epoch")
    if medians:
        systems = list(next(iter(medians.values())))
        lines += ["", f"## Median seconds per epoch ({bench['epoch_samples']} samples), side by side", ""]
        tested = f"tinyae ({target})"
        speedup = [f"tinyae (numpy) / {tested}"] if tested in systems and "tinyae (numpy)" in systems else []
        body = []
        for key, times in medians.items():
            row = [key, *(f"{times[s]:.3f}" for s in systems)]
            if speedup:
                row.append(f"{times['tinyae (numpy)'] / times[tested]:.2f}")
            body.append(row)
        lines += _table(["workload", *systems, *speedup], body)
    for failure in tests.get("failures", []):
        lines.append(f"- {failure}")
    lines += ["", "## What only a GPU run proves", ""]
    lines += [f"- {item}{'' if result['gpu_ran'] else ' (not proven by this run)'}" for item in GPU_ONLY]
    return "\n".join(lines) + "\n"
