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
from typing import Any

import numpy as np
from common import (
    add_common_arguments,
    environment,
    environment_lines,
    markdown_table,
    new_figure,
    resolve_backends,
    save_figure,
    summarize,
    time_alternating,
    write_json,
)

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
    loss = F.l2_loss(F.sigmoid(F.linear(h, W, c, transpose_weight=True)) - x)
    loss.backward()
    return loss.item(), [W.grad, b.grad, c.grad]


def plot(samples: dict[str, list[float]], path: str) -> None:
    """Every timed call of each system, in order (a slow spell of the machine shows as a bump in all)."""
    figure, axes = new_figure(7, 3.5)
    ax = axes[0][0]
    for name, values in samples.items():
        ax.plot([v * 1e3 for v in values], ".", markersize=3, label=name)
    ax.set_xlabel("repeat")
    ax.set_ylabel("ms per forward + backward")
    ax.legend(fontsize=8)
    save_figure(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=100, backend="numpy")
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args()
    repeats = args.repeats or (5 if args.quick else args.default_repeats)
    backends, skipped = resolve_backends(args.backend)

    env = environment()
    print("\n".join(environment_lines(env)))
    for name, reason in skipped.items():
        print(f"tinyae ({name}): skipped ({reason})")

    host = make_inputs(args.batch, 784, 500)
    loss_hand, grads_hand = by_hand(host["x"], host["W"], host["b"], host["c"])
    systems: dict[str, Any] = {"numpy by hand": lambda: by_hand(host["x"], host["W"], host["b"], host["c"])}
    syncs: dict[str, Any] = {"numpy by hand": lambda: None}
    checks = {}
    for name in backends:
        backend = tinyae.get_backend(name)
        params = {k: tinyae.tensor(host[k], backend=backend, requires_grad=True) for k in ("W", "b", "c")}
        x = tinyae.tensor(host["x"], backend=backend)
        loss_ae, grads_ae = with_tinyae(params, x)
        max_rel = max(
            float(np.max(np.abs(backend.to_numpy(g) - h)) / (np.max(np.abs(h)) + 1e-30))
            for g, h in zip(grads_ae, grads_hand, strict=True)
        )
        label = f"tinyae ({name})"
        checks[label] = {"loss_tinyae": loss_ae, "loss_by_hand": loss_hand, "max_rel_grad_diff": max_rel}
        systems[label] = lambda params=params, x=x: with_tinyae(params, x)
        syncs[label] = backend.synchronize

    samples = time_alternating(systems, repeats, syncs)
    summary = {name: {k + "_ms": 1e3 * v for k, v in summarize(s).items()} for name, s in samples.items()}
    hand = summary["numpy by hand"]
    ratios = {
        name: {"median": row["median_ms"] / hand["median_ms"], "min": row["min_ms"] / hand["min_ms"]}
        for name, row in summary.items()
        if name != "numpy by hand"
    }

    print(f"\nforward+backward, tied AE layer, x {args.batch}x784 float32, W 784x500, {repeats} repeats\n")
    print(
        markdown_table(
            ["system", "median ms", "min ms", "ratio to by hand (median)", "ratio (min)"],
            [
                [
                    name,
                    f"{row['median_ms']:.3f}",
                    f"{row['min_ms']:.3f}",
                    f"{ratios[name]['median']:.3f}" if name in ratios else "1",
                    f"{ratios[name]['min']:.3f}" if name in ratios else "1",
                ]
                for name, row in summary.items()
            ],
        )
    )
    for name, check in checks.items():
        print(
            f"same results, {name}: loss {check['loss_tinyae']:.6g} vs {check['loss_by_hand']:.6g}; "
            f"max relative gradient difference {check['max_rel_grad_diff']:.2e}"
        )
    if args.json:
        write_json(
            args.json,
            {
                "environment": env,
                "args": {k: v for k, v in vars(args).items() if k != "default_repeats"},
                "skipped": skipped,
                "summary": summary,
                "ratio": ratios,
                "check": checks,
                "samples_s": samples,
            },
        )
    if args.plot:
        plot(samples, args.plot)


if __name__ == "__main__":
    main()
