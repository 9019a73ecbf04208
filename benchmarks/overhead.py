"""What the autograd engine costs over hand-written NumPy, on one autoencoder step.

The workload is one layer of the Theano tutorial's tied autoencoder, forward and backward:

    h = sigmoid(x @ W + b)           x (100, 784) float32, W (784, 500)
    y = sigmoid(h @ W.T + c)         the decoder uses the same W, transposed
    loss = l2_loss(y - x)            0.5 * sum of squares

once through tinyae and once written out by hand in NumPy (forward and the chain rule by hand).  The two
are timed alternately, after a warm-up, and the script prints the median and minimum of each and their
ratio, checks that both give the same loss and gradients, and can write everything as JSON.

Run (unsetting the OpenBLAS variables this machine may set, which slow NumPy):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/overhead.py --repeats 200
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import tinyae
import tinyae.functional as F


def make_inputs(batch: int, features: int, hidden: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    limit = np.sqrt(6.0 / (features + hidden))
    return {
        "x": rng.random((batch, features), dtype=np.float32),
        "W": rng.uniform(-limit, limit, (features, hidden)).astype(np.float32),
        "b": np.zeros(hidden, dtype=np.float32),
        "c": np.zeros(features, dtype=np.float32),
    }


def by_hand(x: np.ndarray, W: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """Forward and backward written out in NumPy, as a careful person would without an engine."""
    h = 1.0 / (1.0 + np.exp(-(x @ W + b)))
    y = 1.0 / (1.0 + np.exp(-(h @ W.T + c)))
    d = y - x
    loss = 0.5 * float(np.sum(d * d))
    g_r = d * y * (1.0 - y)  # d loss / d decoder pre-activation
    g_c = g_r.sum(axis=0)
    g_h = g_r @ W
    g_a = g_h * h * (1.0 - h)  # d loss / d encoder pre-activation
    g_W = x.T @ g_a + g_r.T @ h  # the encoder's use of W plus the decoder's use of W.T
    g_b = g_a.sum(axis=0)
    return loss, [g_W, g_b, g_c]


def with_tinyae(params: dict[str, tinyae.Tensor], x: tinyae.Tensor) -> tuple[float, list[Any]]:
    W, b, c = params["W"], params["b"], params["c"]
    for p in (W, b, c):
        p.grad = None
    h = F.sigmoid(F.linear(x, W, b))
    loss = F.l2_loss(F.sigmoid(F.linear(h, W.T, c)) - x)
    loss.backward()
    return loss.item(), [W.grad, b.grad, c.grad]


def time_alternating(systems: dict[str, Callable[[], Any]], repeats: int, sync: Callable[[], None]) -> dict:
    for run in systems.values():  # warm-up: allocator, BLAS threads, caches
        for _ in range(5):
            run()
    samples: dict[str, list[float]] = {name: [] for name in systems}
    for _ in range(repeats):
        for name, run in systems.items():
            sync()
            start = time.perf_counter()
            run()
            sync()
            samples[name].append(time.perf_counter() - start)
    return samples


def environment() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "tinyae": tinyae.__version__,
        "machine": platform.machine(),
    }
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            {k: pool.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for pool in threadpool_info()
        ]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="numpy", help="tinyae backend to time (numpy, strict, cupy)")
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--json", metavar="OUT", help="write the samples and summary here")
    args = parser.parse_args()

    host = make_inputs(args.batch, 784, 500)
    backend = tinyae.get_backend(args.backend)
    params = {k: tinyae.tensor(host[k], backend=backend, requires_grad=True) for k in ("W", "b", "c")}
    x = tinyae.tensor(host["x"], backend=backend)

    loss_hand, grads_hand = by_hand(host["x"], host["W"], host["b"], host["c"])
    loss_ae, grads_ae = with_tinyae(params, x)
    max_rel = max(
        float(np.max(np.abs(backend.to_numpy(g) - h)) / (np.max(np.abs(h)) + 1e-30))
        for g, h in zip(grads_ae, grads_hand, strict=True)
    )

    samples = time_alternating(
        {
            "numpy by hand": lambda: by_hand(host["x"], host["W"], host["b"], host["c"]),
            f"tinyae ({args.backend})": lambda: with_tinyae(params, x),
        },
        args.repeats,
        backend.synchronize,
    )
    summary = {
        name: {"median_ms": 1e3 * statistics.median(s), "min_ms": 1e3 * min(s)} for name, s in samples.items()
    }
    names = list(summary)
    ratio_median = summary[names[1]]["median_ms"] / summary[names[0]]["median_ms"]
    ratio_min = summary[names[1]]["min_ms"] / summary[names[0]]["min_ms"]

    print(f"forward+backward, tied AE layer, x {args.batch}x784 float32, W 784x500, {args.repeats} repeats\n")
    print("| system | median ms | min ms |")
    print("| --- | --- | --- |")
    for name, row in summary.items():
        print(f"| {name} | {row['median_ms']:.3f} | {row['min_ms']:.3f} |")
    print(f"\nratio tinyae / by hand: median {ratio_median:.3f}, min {ratio_min:.3f}")
    print(
        f"same results: loss {loss_ae:.6g} vs {loss_hand:.6g}; max relative gradient difference {max_rel:.2e}"
    )
    if args.json:
        report = {
            "environment": environment(),
            "args": vars(args),
            "summary": summary,
            "ratio": {"median": ratio_median, "min": ratio_min},
            "check": {"loss_tinyae": loss_ae, "loss_by_hand": loss_hand, "max_rel_grad_diff": max_rel},
            "samples_s": samples,
        }
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)


if __name__ == "__main__":
    main()
