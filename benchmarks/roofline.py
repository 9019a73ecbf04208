"""The GEMM-bound time of each training workload: its matrix products at the measured BLAS rate.

For a dense layer (B, in) -> (B, out), one training step multiplies

    forward       x @ W      (B, in) @ (in, out)
    input grad    g @ W^T    (B, out) @ (out, in)   (not for the first layer: its input is the data)
    weight grad   x^T @ g    (in, B) @ (B, out)

each with 2 * B * in * out floating-point operations.  Every product is timed at its own shape and memory
layout (a transposed operand is a transposed view, as in training), so the GEMM-bound time of an epoch is
the sum of those times times the steps per epoch: the epoch's GEMM FLOPs divided by the rates BLAS reaches
at exactly these shapes.  The bound uses each product's fastest repeat (the median is printed beside it):
on a shared machine a multi-threaded BLAS call sometimes waits a whole scheduler slice (4-8 ms) for a
thread whose core is busy, and a bound must not grow with such waits.  No implementation that calls this
BLAS for its products can be faster; the gap between a system's epoch and this bound is everything else
(elementwise work, the optimizer, the engine's overhead).  For contrast the script also runs all of a
step's products back to back on operands of their own ("chained"): the products' cost without the
elementwise work between them, but with cold operands, as in a step.

Run (unsetting the OpenBLAS variables this machine may set, which slow NumPy):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/roofline.py --json roofline.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from typing import Any

from common import (
    add_common_arguments,
    environment,
    environment_lines,
    markdown_table,
    new_figure,
    resolve_backends,
    save_figure,
    write_json,
)
from workloads import WORKLOADS, Workload

import tinyae

__all__ = ["Gemm", "measure_workload", "step_gemms"]


@dataclass(frozen=True)
class Gemm:
    """One matrix product ``(m, k) @ (k, n)`` of a training step; ``a_t``/``b_t``: that operand is a
    transposed view."""

    layer: str
    role: str  # "forward", "input grad" or "weight grad"
    m: int
    k: int
    n: int
    a_t: bool = False
    b_t: bool = False

    @property
    def flops(self) -> int:
        return 2 * self.m * self.k * self.n

    @property
    def shape(self) -> str:
        return f"{self.m}x{self.k}x{self.n}"


def step_gemms(workload: Workload) -> list[Gemm]:
    """The matrix products of one training step of ``workload`` (a tied layer uses ``W^T``, a view)."""
    gemms = []
    batch = workload.batch
    for i, layer in enumerate(workload.layers):
        tied = layer.tied_to is not None
        gemms.append(Gemm(layer.name, "forward", batch, layer.n_in, layer.n_out, b_t=tied))
        if i > 0:  # the first layer's input is the data batch
            gemms.append(Gemm(layer.name, "input grad", batch, layer.n_out, layer.n_in, b_t=not tied))
        gemms.append(Gemm(layer.name, "weight grad", layer.n_in, batch, layer.n_out, a_t=True))
    return gemms


def _operand(backend: tinyae.Backend, rows: int, cols: int, transposed: bool, dtype: str) -> Any:
    if transposed:  # the (cols, rows) array's transposed view, as x.T or W.T is in training
        return backend.xp.matrix_transpose(backend.random.uniform((cols, rows), dtype))
    return backend.random.uniform((rows, cols), dtype)


def time_gemm(
    backend: tinyae.Backend, gemm: Gemm, dtype: str, repeats: int, warmup: int = 3
) -> tuple[float, float]:
    """(minimum, median) seconds of one ``xp.matmul`` at ``gemm``'s shape and layout, device synchronised."""
    xp = backend.xp
    a = _operand(backend, gemm.m, gemm.k, gemm.a_t, dtype)
    b = _operand(backend, gemm.k, gemm.n, gemm.b_t, dtype)
    for _ in range(warmup):
        xp.matmul(a, b)
    backend.synchronize()
    times = []
    for _ in range(repeats):
        backend.synchronize()
        start = time.perf_counter()
        xp.matmul(a, b)
        backend.synchronize()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def time_chained(
    backend: tinyae.Backend, gemms: list[Gemm], dtype: str, repeats: int, warmup: int = 3
) -> tuple[float, float]:
    """(minimum, median) seconds of all of a step's products run back to back, each on operands of its
    own (as in a step, where every product reads other arrays): what the products cost without the
    elementwise work between them, in contrast to the bound's warm, one-product-at-a-time timings."""
    xp = backend.xp
    operands = [
        (_operand(backend, g.m, g.k, g.a_t, dtype), _operand(backend, g.k, g.n, g.b_t, dtype)) for g in gemms
    ]
    times = []
    for i in range(warmup + repeats):
        backend.synchronize()
        start = time.perf_counter()
        for a, b in operands:
            xp.matmul(a, b)
        backend.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def measure_workload(
    workload: Workload, backend: str, dtype: str, repeats: int, steps: int, cache: dict | None = None
) -> dict[str, Any]:
    """Every GEMM of one step timed on ``backend``, and the GEMM-bound seconds of ``steps`` steps.

    ``cache`` (shape and layout -> seconds) lets workloads that share a product time it once.
    """
    target = tinyae.get_backend(backend)
    cache = {} if cache is None else cache
    rows = []
    for gemm in step_gemms(workload):
        key = (backend, dtype, gemm.m, gemm.k, gemm.n, gemm.a_t, gemm.b_t)
        if key not in cache:
            cache[key] = time_gemm(target, gemm, dtype, repeats)
        seconds, median = cache[key]
        rows.append(
            {
                **gemm.__dict__,
                "flops": gemm.flops,
                "seconds": seconds,
                "median_seconds": median,
                "gflops": gemm.flops / seconds / 1e9,
            }
        )
    step_seconds = sum(r["seconds"] for r in rows)
    step_flops = sum(r["flops"] for r in rows)
    chained_min, chained_median = time_chained(target, step_gemms(workload), dtype, repeats)
    return {
        "chained_step_seconds": chained_median,
        "chained_step_seconds_min": chained_min,
        "chained_seconds": chained_median * steps,
        "backend": backend,
        "dtype": dtype,
        "steps": steps,
        "gemms": rows,
        "step_seconds": step_seconds,
        "epoch_gflop": step_flops * steps / 1e9,
        "bound_seconds": step_seconds * steps,
        "mean_gflops": step_flops / step_seconds / 1e9,
    }


def peak_rate(backend: str, dtype: str, size: int, repeats: int) -> float:
    """GFLOP/s of one large square product, for scale."""
    seconds, _ = time_gemm(
        tinyae.get_backend(backend), Gemm("square", "peak", size, size, size), dtype, repeats
    )
    return 2 * size**3 / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=30, backend="numpy")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--epoch-samples", type=int, default=60000, help="samples per epoch (default 60000)")
    parser.add_argument("--workloads", default="W1,W2,W3,W4,W5", help="comma-separated (default all)")
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else args.default_repeats)
    keys = [k.strip() for k in args.workloads.split(",")]
    backends, skipped = resolve_backends(args.backend)

    env = environment()
    print("\n".join(environment_lines(env)))
    for name, reason in skipped.items():
        print(f"backend {name}: skipped ({reason})")

    peak_size = 512 if args.quick else 2048
    results: dict[str, Any] = {}
    peaks: dict[str, float] = {}
    cache: dict = {}
    for backend in backends:
        peaks[backend] = peak_rate(backend, args.dtype, peak_size, max(3, repeats // 5))
        print(f"\n## {backend}: GEMM rates at the workloads' shapes ({args.dtype}, {repeats} repeats)")
        print(
            f"\nfor scale: a {peak_size}x{peak_size}x{peak_size} product runs at {peaks[backend]:.1f} GFLOP/s"
        )
        results[backend] = {}
        for key in keys:
            workload = WORKLOADS[key]
            steps = args.epoch_samples // workload.batch
            result = measure_workload(workload, backend, args.dtype, repeats, steps, cache)
            results[backend][key] = result
            print(f"\n### {workload.label}, batch {workload.batch}\n")
            print(
                markdown_table(
                    ["layer", "product", "m x k x n", "us (min)", "us (median)", "GFLOP/s (min)"],
                    [
                        [
                            r["layer"],
                            r["role"],
                            _shape(r),
                            f"{r['seconds'] * 1e6:.1f}",
                            f"{r['median_seconds'] * 1e6:.1f}",
                            f"{r['gflops']:.1f}",
                        ]
                        for r in result["gemms"]
                    ],
                )
            )
        print(f"\n### GEMM-bound time per epoch ({backend}, {args.epoch_samples:,} samples)\n")
        print(
            markdown_table(
                [
                    "workload",
                    "batch",
                    "steps",
                    "GFLOP/epoch",
                    "GEMM ms/step",
                    "mean GFLOP/s",
                    "GEMM-bound s/epoch",
                    "chained s/epoch (median)",
                ],
                [
                    [
                        WORKLOADS[k].label,
                        WORKLOADS[k].batch,
                        r["steps"],
                        f"{r['epoch_gflop']:.1f}",
                        f"{r['step_seconds'] * 1e3:.3f}",
                        f"{r['mean_gflops']:.1f}",
                        f"{r['bound_seconds']:.3f}",
                        f"{r['chained_seconds']:.3f}",
                    ]
                    for k, r in results[backend].items()
                ],
            )
        )

    if args.json:
        write_json(
            args.json,
            {
                "environment": env,
                "args": vars(args),
                "peak_gflops": peaks,
                "results": results,
                "skipped": skipped,
            },
        )
    if args.plot:
        plot(results, peaks, args.plot)


def _shape(row: dict[str, Any]) -> str:
    marks = ("^T" if row["a_t"] else "", "^T" if row["b_t"] else "")
    return f"({row['m']}x{row['k']}){marks[0]} @ ({row['k']}x{row['n']}){marks[1]}"


def plot(results: dict[str, Any], peaks: dict[str, float], path: str) -> None:
    """One panel per workload: the GFLOP/s of each product, the large-square rate as a line."""
    keys = list(next(iter(results.values())))
    figure, axes = new_figure(3.2 * len(keys), 3.6, 1, len(keys))
    for ax, key in zip(axes[0], keys, strict=True):
        for offset, (backend, by_key) in enumerate(results.items()):
            rows = by_key[key]["gemms"]
            positions = [i + 0.4 * offset for i in range(len(rows))]
            ax.bar(positions, [r["gflops"] for r in rows], width=0.4, label=backend)
            ax.axhline(peaks[backend], linestyle="--", linewidth=0.8, color=f"C{offset}")
        ax.set_xticks(
            range(len(rows)), [f"{r['layer']} {r['role'][0]}" for r in rows], rotation=90, fontsize=6
        )
        bounds = ", ".join(f"{b} {r[key]['bound_seconds']:.2f}" for b, r in results.items())
        ax.set_title(f"{key} GEMM-bound s/epoch: {bounds}", fontsize=7)
        ax.set_ylabel("GFLOP/s")
    axes[0][0].legend(fontsize=7)
    save_figure(figure, path)


if __name__ == "__main__":
    main()
