"""Forward + backward time of each tinyae op across sizes, against the same computation as bare array calls.

For every op (the dense layer, matmul, the activations, the losses, batch norm, the VAE's pieces) and every
size (a "tiny" (1, 10) input, then batches of 1 to 4096 rows of 784, 500 or 20 features), the script times

- ``tinyae``: the op on tensors that require gradients, then ``out.backward(grad)``: the engine's full cost;
- ``bare``: the same forward and backward formulas written directly with the backend's array functions
  (``xp``), no tensors, no graph: what the arithmetic alone costs.

The two alternate (and, with a GPU, so do the cupy rows), after a warm-up; each sample runs enough calls to
last about a millisecond.  The tables give tinyae's microseconds per call, the ratio tinyae / bare (the
engine's overhead: large at tiny sizes, near 1 where the arithmetic dominates), the overhead in
microseconds at the tiny size, and the microseconds per row at the largest batch (how time grows with the
batch).  A last table times a few array-level traps measured for this project.

Run (unsetting the OpenBLAS variables this machine may set, which slow NumPy):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/ops.py --json ops.json --plot ops.png
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
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
    summarize,
    time_alternating,
    write_json,
)

import tinyae
import tinyae.functional as F

BATCHES = (1, 4, 16, 64, 256, 1024, 4096)
QUICK_BATCHES = (1, 64)
TINY = "tiny"  # a (1, 10) input (2 x 10 for batch_norm, which needs two rows in training)


@dataclass(frozen=True)
class Case:
    """One op: its inputs (name -> (shape maker, kind)), which need gradients, tinyae's call and the bare
    forward + backward written with ``xp``."""

    name: str
    describe: str
    inputs: Callable[[int, int], dict[str, tuple[tuple[int, ...], str]]]  # (batch, features) -> specs
    features: int
    grads: tuple[str, ...]
    forward: Callable[[dict[str, Any]], Any]
    bare: Callable[[Any, dict[str, Any], Any], Any]
    min_batch: int = 1


def _t(xp: Any, a: Any) -> Any:
    return xp.matrix_transpose(a)


def _mask(xp: Any, x: Any) -> Any:
    return xp.astype(x > 0, x.dtype)


def _sigmoid(xp: Any, x: Any, e: Any) -> Any:
    return (e + _mask(xp, x) * (1 - e)) / (1 + e)


def _bare_linear(xp: Any, a: dict[str, Any], g: Any, need_x: bool) -> Any:
    y = xp.matmul(a["x"], a["W"]) + a["b"]
    grads = [xp.matmul(_t(xp, a["x"]), g), xp.sum(g, axis=0)]
    if need_x:
        grads.append(xp.matmul(g, _t(xp, a["W"])))
    return y, grads


def _bare_sigmoid(xp: Any, a: dict[str, Any], g: Any) -> Any:
    x = a["x"]
    e = xp.exp(-xp.abs(x))
    y = _sigmoid(xp, x, e)
    r = 1 / (1 + e)
    return y, g * e * r * r


def _bare_softplus(xp: Any, a: dict[str, Any], g: Any) -> Any:
    x = a["x"]
    e = xp.exp(-xp.abs(x))
    return xp.maximum(x, 0) + xp.log1p(e), g * _sigmoid(xp, x, e)


def _bare_bce(xp: Any, a: dict[str, Any], g: Any) -> Any:
    x, t = a["x"], a["target"]
    e = xp.exp(-xp.abs(x))
    loss = xp.sum(xp.maximum(x, 0) - x * t + xp.log1p(e))
    return loss, g * (_sigmoid(xp, x, e) - t)


def _bare_batch_norm(xp: Any, a: dict[str, Any], g: Any) -> Any:
    x, gamma, beta = a["x"], a["gamma"], a["beta"]
    centered = x - xp.mean(x, axis=0)
    inv_std = 1 / xp.sqrt(xp.mean(centered * centered, axis=0) + 1e-5)
    xhat = centered * inv_std
    y = xhat * gamma + beta
    dxhat = g * gamma
    dx = inv_std * (
        dxhat - xp.mean(dxhat, axis=0, keepdims=True) - xhat * xp.mean(dxhat * xhat, axis=0, keepdims=True)
    )
    return y, dx, xp.sum(g * xhat, axis=0), xp.sum(g, axis=0)


def _bare_kl(xp: Any, a: dict[str, Any], g: Any) -> Any:
    mu, log_var = a["mu"], a["log_var"]
    em1 = xp.expm1(log_var)
    loss = xp.mean(0.5 * xp.sum(mu * mu + (em1 - log_var), axis=-1))
    scale = g / mu.shape[0]
    return loss, scale * mu, 0.5 * scale * em1


def _bare_reparameterize(xp: Any, a: dict[str, Any], g: Any) -> Any:
    std = xp.exp(0.5 * a["log_var"])
    z = a["mu"] + std * a["eps"]
    return z, g, 0.5 * g * std * a["eps"]


def _rows(batch: int, width: int) -> dict[str, tuple[tuple[int, ...], str]]:
    return {"x": ((batch, width), "normal")}


def _dense(n_out: int) -> Callable[[int, int], dict[str, tuple[tuple[int, ...], str]]]:
    def specs(batch: int, width: int) -> dict[str, tuple[tuple[int, ...], str]]:
        out = width if width < 100 else n_out  # the tiny case is 10 -> 10
        return {"x": ((batch, width), "normal"), "W": ((width, out), "weight"), "b": ((out,), "zeros")}

    return specs


def _latent(batch: int, width: int) -> dict[str, tuple[tuple[int, ...], str]]:
    return {
        "mu": ((batch, width), "normal"),
        "log_var": ((batch, width), "normal"),
        "eps": ((batch, width), "normal"),
    }


CASES = [
    Case(
        "linear 784->500",
        "x (B, 784) data, W, b need grads (first layer)",
        _dense(500),
        784,
        ("W", "b"),
        lambda t: F.linear(t["x"], t["W"], t["b"]),
        lambda xp, a, g: _bare_linear(xp, a, g, need_x=False),
    ),
    Case(
        "linear 500->784",
        "x (B, 500), W, b all need grads (a hidden layer)",
        _dense(784),
        500,
        ("x", "W", "b"),
        lambda t: F.linear(t["x"], t["W"], t["b"]),
        lambda xp, a, g: _bare_linear(xp, a, g, need_x=True),
    ),
    Case(
        "matmul",
        "x (B, 784) @ W (784, 500), both need grads",
        _dense(500),
        784,
        ("x", "W"),
        lambda t: t["x"] @ t["W"],
        lambda xp, a, g: (
            xp.matmul(a["x"], a["W"]),
            xp.matmul(g, _t(xp, a["W"])),
            xp.matmul(_t(xp, a["x"]), g),
        ),
    ),
    Case(
        "add (bias)",
        "x (B, 500) + b (500,): the bias gradient sums over the batch",
        lambda batch, width: {"x": ((batch, width), "normal"), "b": ((width,), "normal")},
        500,
        ("x", "b"),
        lambda t: t["x"] + t["b"],
        lambda xp, a, g: (a["x"] + a["b"], g, xp.sum(g, axis=0)),
    ),
    Case(
        "mul",
        "x * y, both (B, 500)",
        lambda batch, width: {"x": ((batch, width), "normal"), "y": ((batch, width), "normal")},
        500,
        ("x", "y"),
        lambda t: t["x"] * t["y"],
        lambda xp, a, g: (a["x"] * a["y"], g * a["y"], g * a["x"]),
    ),
    Case("sigmoid", "(B, 500)", _rows, 500, ("x",), lambda t: F.sigmoid(t["x"]), _bare_sigmoid),
    Case(
        "relu",
        "(B, 500)",
        _rows,
        500,
        ("x",),
        lambda t: F.relu(t["x"]),
        lambda xp, a, g: (xp.maximum(a["x"], 0), g * _mask(xp, a["x"])),
    ),
    Case(
        "tanh",
        "(B, 500)",
        _rows,
        500,
        ("x",),
        lambda t: F.tanh(t["x"]),
        lambda xp, a, g: (y := xp.tanh(a["x"]), g * (1 - y * y)),
    ),
    Case("softplus", "(B, 500)", _rows, 500, ("x",), lambda t: F.softplus(t["x"]), _bare_softplus),
    Case(
        "sum",
        "(B, 784) -> scalar",
        _rows,
        784,
        ("x",),
        lambda t: t["x"].sum(),
        lambda xp, a, g: (xp.sum(a["x"]), xp.broadcast_to(g, a["x"].shape)),
    ),
    Case(
        "mse_loss",
        "mean over (B, 784)",
        lambda batch, width: {"x": ((batch, width), "normal"), "target": ((batch, width), "uniform")},
        784,
        ("x",),
        lambda t: F.mse_loss(t["x"], t["target"]),
        lambda xp, a, g: (
            xp.mean((d := a["x"] - a["target"]) * d),
            (2 * g / math.prod(d.shape)) * d,
        ),
    ),
    Case(
        "l2_loss",
        "0.5 * sum of squares of (B, 784)",
        _rows,
        784,
        ("x",),
        lambda t: F.l2_loss(t["x"]),
        lambda xp, a, g: (0.5 * xp.sum(a["x"] * a["x"]), g * a["x"]),
    ),
    Case(
        "bce_with_logits",
        "summed over (B, 784) logits against targets in [0, 1]",
        lambda batch, width: {"x": ((batch, width), "normal"), "target": ((batch, width), "uniform")},
        784,
        ("x",),
        lambda t: F.binary_cross_entropy_with_logits(t["x"], t["target"], reduction="sum"),
        _bare_bce,
    ),
    Case(
        "batch_norm",
        "training mode, (B, 500) with gamma and beta (B >= 2)",
        lambda batch, width: {
            "x": ((batch, width), "normal"),
            "gamma": ((width,), "ones"),
            "beta": ((width,), "zeros"),
            "running_mean": ((width,), "zeros"),
            "running_var": ((width,), "ones"),
        },
        500,
        ("x", "gamma", "beta"),
        lambda t: (
            F.batch_norm(
                t["x"], t["gamma"], t["beta"], t["running_mean"], t["running_var"], training=True
            ).output
        ),
        _bare_batch_norm,
        min_batch=2,
    ),
    Case(
        "reparameterize",
        "(B, 20) mu, log_var and noise",
        _latent,
        20,
        ("mu", "log_var"),
        lambda t: F.reparameterize(t["mu"], t["log_var"], t["eps"]),
        _bare_reparameterize,
    ),
    Case(
        "gaussian_kl",
        "(B, 20) mu and log_var, batch mean",
        lambda batch, width: {"mu": ((batch, width), "normal"), "log_var": ((batch, width), "normal")},
        20,
        ("mu", "log_var"),
        lambda t: F.gaussian_kl(t["mu"], t["log_var"]),
        _bare_kl,
    ),
]


def _array(backend: tinyae.Backend, shape: tuple[int, ...], kind: str, dtype: str) -> Any:
    xp = backend.xp
    if kind == "zeros":
        return xp.zeros(shape, dtype=backend.dtype(dtype))
    if kind == "ones":
        return xp.ones(shape, dtype=backend.dtype(dtype))
    if kind == "uniform":
        return backend.random.uniform(shape, dtype)
    values = backend.random.normal(shape, dtype)
    return values * (1.0 / math.sqrt(shape[0])) if kind == "weight" else values


def _runners(
    case: Case, backend: tinyae.Backend, batch: int, width: int, dtype: str
) -> tuple[Callable, Callable]:
    """(tinyae forward + backward, bare forward + backward) on fixed inputs and a fixed output gradient."""
    arrays = {
        name: _array(backend, shape, kind, dtype) for name, (shape, kind) in case.inputs(batch, width).items()
    }
    tensors = {
        name: tinyae.Tensor(a, backend=backend, requires_grad=name in case.grads)
        for name, a in arrays.items()
    }
    leaves = [tensors[name] for name in case.grads]
    out_shape = case.forward(tensors).shape
    grad = backend.random.normal(out_shape, dtype) if out_shape else backend.asarray(1.0, dtype=dtype)

    def with_tinyae() -> None:
        for leaf in leaves:
            leaf.grad = None
        case.forward(tensors).backward(grad)

    def bare() -> None:
        case.bare(backend.xp, arrays, grad)

    return with_tinyae, bare


def _calls_per_sample(functions: list[Callable], sync: Callable, target: float) -> int:
    """How many calls make a sample of about ``target`` seconds (for the slowest of ``functions``)."""
    slowest = 0.0
    for f in functions:
        f()
        sync()
        start = time.perf_counter()
        f()
        sync()
        slowest = max(slowest, time.perf_counter() - start)
    return max(1, min(1000, int(target / max(slowest, 1e-9))))


def measure(backends: list[str], batches: tuple[int, ...], dtype: str, repeats: int, target: float) -> dict:
    """results[op][size][system] = {"median", "min"} in seconds per call; systems "tinyae (b)", "bare (b)"."""
    results: dict[str, Any] = {}
    for case in CASES:
        results[case.name] = {}
        sizes = [(TINY, 1 if case.min_batch == 1 else case.min_batch, 10)]
        sizes += [(str(b), b, case.features) for b in batches if b >= case.min_batch]
        for label, batch, width in sizes:
            calls, syncs = {}, {}
            for name in backends:
                backend = tinyae.get_backend(name)
                with_tinyae, bare = _runners(case, backend, batch, width, dtype)
                calls[f"tinyae ({name})"], calls[f"bare ({name})"] = with_tinyae, bare
                syncs[f"tinyae ({name})"] = syncs[f"bare ({name})"] = backend.synchronize
            number = min(
                _calls_per_sample([calls[k]], syncs[k], target) for k in calls
            )  # one count for all, so that the samples are alike

            def repeated(f: Callable, n: int = number) -> Callable:
                def run() -> None:
                    for _ in range(n):
                        f()

                return run

            samples = time_alternating({k: repeated(f) for k, f in calls.items()}, repeats, syncs, warmup=1)
            results[case.name][label] = {
                k: {**summarize([s / number for s in v]), "calls_per_sample": number}
                for k, v in samples.items()
            }
    return results


def traps(backend_name: str, dtype: str, repeats: int) -> list[dict[str, Any]]:
    """Array-level costs behind some of the engine's choices, on ``backend_name``."""
    backend = tinyae.get_backend(backend_name)
    xp = backend.xp
    x1, g1 = backend.random.normal((1, 784), dtype), backend.random.normal((1, 500), dtype)
    h = backend.random.normal((100, 500), dtype)
    mask = h > 0
    fmask = xp.astype(mask, h.dtype)
    zero = xp.zeros_like(h)
    big = backend.random.normal((100, 784), dtype)
    flat = xp.reshape(big, (-1,))
    zero_row = xp.zeros((784,), dtype=big.dtype)
    pairs = [
        (
            "batch-1 weight gradient (784x1) @ (1x500)",
            ("xp.matmul(x.T, g)", lambda: xp.matmul(_t(xp, x1), g1)),
            ("x.T * g (broadcast)", lambda: _t(xp, x1) * g1),
        ),
        (
            "select by a random sign mask, 100x500",
            ("xp.where(mask, h, 0)", lambda: xp.where(mask, h, zero)),
            ("h * float mask", lambda: h * fmask),
        ),
        ("exp against a multiply, 100x784", ("xp.exp(x)", lambda: xp.exp(big)), ("x * x", lambda: big * big)),
        (
            "tanh against a multiply, 100x784",
            ("xp.tanh(x)", lambda: xp.tanh(big)),
            ("x * x", lambda: big * big),
        ),
        (
            "relu: maximum against a scalar or a row of zeros, 100x784",
            ("xp.maximum(x, 0)", lambda: xp.maximum(big, 0)),
            ("xp.maximum(x, zero_row)", lambda: xp.maximum(big, zero_row)),
        ),
        (
            "a 0/1 mask from the sign or from a comparison, 100x784",
            ("xp.sign(x)", lambda: xp.sign(big)),
            ("astype(x > 0)", lambda: xp.astype(big > 0, big.dtype)),
        ),
        (
            "sum of squares, 100x784",
            ("xp.sum(x * x)", lambda: xp.sum(big * big)),
            ("xp.vecdot(flat, flat)", lambda: xp.vecdot(flat, flat)),
        ),
    ]
    rows = []
    for title, (name_a, a), (name_b, b) in pairs:
        number = _calls_per_sample([a, b], backend.synchronize, 1e-3)
        samples = time_alternating(
            {name_a: _loop(a, number), name_b: _loop(b, number)}, repeats, backend.synchronize, warmup=1
        )
        ta, tb = (summarize([s / number for s in samples[k]])["median"] for k in (name_a, name_b))
        rows.append({"what": title, "a": name_a, "a_s": ta, "b": name_b, "b_s": tb, "ratio": ta / tb})
    return rows


def _loop(f: Callable, number: int) -> Callable:
    def run() -> None:
        for _ in range(number):
            f()

    return run


def print_tables(results: dict, backends: list[str], batches: tuple[int, ...], repeats: int) -> None:
    labels = [TINY, *(str(b) for b in batches)]
    largest = str(batches[-1])
    for name in backends:
        tin, bare = f"tinyae ({name})", f"bare ({name})"
        print(f"\n## {name}: forward + backward, microseconds per call (median of {repeats})\n")
        rows = []
        for op, sizes in results.items():
            rows.append([op, *(f"{sizes[s][tin]['median'] * 1e6:.1f}" if s in sizes else "" for s in labels)])
        print(markdown_table(["op", *labels], rows))
        print(f"\n## {name}: tinyae / bare arrays (the engine's overhead as a factor)\n")
        rows = []
        for op, sizes in results.items():
            ratios = [
                f"{sizes[s][tin]['median'] / sizes[s][bare]['median']:.2f}" if s in sizes else ""
                for s in labels
            ]
            tiny = sizes[TINY]
            overhead = (tiny[tin]["median"] - tiny[bare]["median"]) * 1e6
            per_row = sizes[largest][tin]["median"] / int(largest) * 1e6
            rows.append([op, *ratios, f"{overhead:.1f}", f"{per_row:.3f}"])
        print(markdown_table(["op", *labels, "overhead at tiny, us", f"us per row at {largest}"], rows))
    if len(backends) > 1 and "numpy" in backends:
        base = "tinyae (numpy)"
        for other in (b for b in backends if b != "numpy"):
            print(f"\n## tinyae on {other} / tinyae on numpy (below 1: {other} is faster)\n")
            rows = []
            for op, sizes in results.items():
                rows.append(
                    [
                        op,
                        *(
                            f"{sizes[s][f'tinyae ({other})']['median'] / sizes[s][base]['median']:.2f}"
                            if s in sizes
                            else ""
                            for s in labels
                        ),
                    ]
                )
            print(markdown_table(["op", *labels], rows))


def plot(results: dict, backends: list[str], batches: tuple[int, ...], path: str) -> None:
    """One panel per op: microseconds per call against the batch (log-log), tinyae solid, bare dashed."""
    columns = 4
    rows_count = math.ceil(len(results) / columns)
    figure, axes = new_figure(3.0 * columns, 2.4 * rows_count, rows_count, columns)
    for index, (op, sizes) in enumerate(results.items()):
        ax = axes[index // columns][index % columns]
        xs = [b for b in batches if str(b) in sizes]
        for j, name in enumerate(backends):
            for system, style in ((f"tinyae ({name})", "-"), (f"bare ({name})", "--")):
                ax.plot(
                    xs,
                    [sizes[str(b)][system]["median"] * 1e6 for b in xs],
                    style,
                    marker="o",
                    markersize=3,
                    color=f"C{j}",
                    label=system,
                )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(op, fontsize=8)
        ax.tick_params(labelsize=6)
    for index in range(len(results), rows_count * columns):
        axes[index // columns][index % columns].set_visible(False)
    axes[0][0].set_ylabel("us per call")
    axes[0][0].legend(fontsize=6)
    save_figure(figure, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=15)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else args.default_repeats)
    batches = QUICK_BATCHES if args.quick else BATCHES
    target = 2e-4 if args.quick else 1e-3
    backends, skipped = resolve_backends(args.backend)

    env = environment()
    print("\n".join(environment_lines(env)))
    for name, reason in skipped.items():
        print(f"backend {name}: skipped, no GPU rows ({reason})")

    results = measure(backends, batches, args.dtype, repeats, target)
    print_tables(results, backends, batches, repeats)
    trap_rows = {name: traps(name, args.dtype, repeats) for name in backends}
    for name, rows in trap_rows.items():
        print(f"\n## {name}: array-level traps (median microseconds per call)\n")
        print(
            markdown_table(
                ["what", "slow form", "us", "fast form", "us", "ratio"],
                [
                    [
                        r["what"],
                        f"`{r['a']}`",
                        f"{r['a_s'] * 1e6:.1f}",
                        f"`{r['b']}`",
                        f"{r['b_s'] * 1e6:.1f}",
                        f"{r['ratio']:.1f}",
                    ]
                    for r in rows
                ],
            )
        )
    if args.json:
        write_json(
            args.json,
            {
                "environment": env,
                "args": {k: v for k, v in vars(args).items() if k != "default_repeats"},
                "skipped": skipped,
                "batches": list(batches),
                "results_seconds": results,
                "traps": trap_rows,
            },
        )
    if args.plot:
        plot(results, backends, batches, args.plot)


if __name__ == "__main__":
    main()
