"""Where a tinyae training step spends its time: each op's forward and backward, and the optimizer, in situ.

The workloads of ``train.py`` run as usual, with a clock around every op's ``forward`` and ``backward``
(every :class:`tinyae.tensor.Function` subclass) and around ``Optimizer.step``; what the clocks do not see
is the engine itself (building and walking the graph), the modules and the loop.  Times are per training
step, after a warm-up epoch, summed over ``--repeats`` epochs of ``--steps`` batches.  Each clock costs
about a microsecond per call, so the totals run a little above an unclocked step.

Next to ``roofline.py`` this shows why a step is slower than its matrix products alone: ``Linear`` holds
the products (and the bias adds and sums), the optimizer its passes over every parameter.

Run (unsetting the OpenBLAS variables this machine may set, which slow NumPy):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/breakdown.py --workloads W1,W3
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import tinyae_workloads
from common import (
    add_common_arguments,
    environment,
    environment_lines,
    markdown_table,
    new_figure,
    save_figure,
    write_json,
)
from workloads import FEATURES, LATENT_NOISE_SHAPE, WORKLOADS, initial_weights

import tinyae
import tinyae.functional  # imports every op, so that every Function subclass is clocked
from tinyae import optim
from tinyae.tensor import Function

__all__ = ["clocked", "measure"]

OPTIMIZER = "optimizer step"
UNCLOCKED = "engine, modules, loop (unclocked)"


def _functions() -> list[type[Function]]:
    found, stack = [], list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found


@contextlib.contextmanager
def clocked(totals: dict[str, float], synchronize: Callable[[], None]) -> Iterator[None]:
    """Inside the block every op's forward and backward, and ``Optimizer.step``, add their seconds to
    ``totals``."""
    originals: list[tuple[type, str, Any]] = []

    def wrap(owner: type, name: str, label: str, static: bool) -> None:
        original = owner.__dict__[name]
        function = original.__func__ if isinstance(original, staticmethod) else original

        def timed(*args: Any, **kwargs: Any) -> Any:
            synchronize()
            start = time.perf_counter()
            result = function(*args, **kwargs)
            synchronize()
            totals[label] += time.perf_counter() - start
            return result

        originals.append((owner, name, original))
        setattr(owner, name, staticmethod(timed) if static else timed)

    for cls in _functions():
        for name in ("forward", "backward"):
            if name in cls.__dict__:
                wrap(cls, name, f"{cls.__name__}.{name}", static=True)
    wrap(optim.Optimizer, "step", OPTIMIZER, static=False)
    try:
        yield
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


def measure(key: str, backend: tinyae.Backend, steps: int, repeats: int) -> dict[str, Any]:
    """Seconds per step of each op (forward, backward), the optimizer and the rest, for workload ``key``."""
    workload = WORKLOADS[key]
    _, step = tinyae_workloads.build(key, initial_weights(workload, "float32"), backend)
    rng = np.random.default_rng(0)
    noise_width = LATENT_NOISE_SHAPE.get(key)

    def host(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32)

    images = rng.random((steps, workload.batch, FEATURES), dtype=np.float32)
    tensors = [tinyae.tensor(batch, backend=backend) for batch in images]
    noise = [
        None if noise_width is None else tinyae.tensor(host(workload.batch, noise_width), backend=backend)
        for _ in range(steps)
    ]

    def epoch() -> None:
        for x, eps in zip(tensors, noise, strict=True):
            step(x, eps)

    epoch()  # warm-up: optimizer state, caches
    totals: dict[str, float] = collections.defaultdict(float)
    with clocked(totals, backend.synchronize):
        backend.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            epoch()
        backend.synchronize()
        elapsed = time.perf_counter() - start
    count = steps * repeats
    per_step = {label: seconds / count for label, seconds in totals.items()}
    per_step[UNCLOCKED] = elapsed / count - sum(per_step.values())
    return {"step_seconds": elapsed / count, "parts": dict(sorted(per_step.items(), key=lambda kv: -kv[1]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=5, backend="numpy")
    parser.add_argument("--workloads", default="W1,W2,W3,W4,W5", help="comma-separated (default all)")
    parser.add_argument("--steps", type=int, default=None, help="batches an epoch (default 60; quick 4)")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else args.default_repeats)
    steps = args.steps or (4 if args.quick else 60)
    keys = [k.strip() for k in args.workloads.split(",")]
    backend = tinyae.get_backend(args.backend.split(",")[0] if args.backend != "auto" else "numpy")
    env = environment()
    print("\n".join(environment_lines(env)))
    results = {}
    for key in keys:
        result = results[key] = measure(key, backend, steps, repeats)
        total = result["step_seconds"]
        print(f"\n## {WORKLOADS[key].label}, batch {WORKLOADS[key].batch}: {total * 1e3:.3f} ms a step")
        print(f"({backend.name}, {steps} steps x {repeats} repeats)\n")
        rows = [[part, f"{s * 1e3:.3f}", f"{100 * s / total:.1f}%"] for part, s in result["parts"].items()]
        print(markdown_table(["part", "ms a step", "share"], rows))
    if args.json:
        write_json(args.json, {"environment": env, "args": vars(args), "results": results})
    if args.plot:
        figure, grid = new_figure(7.5, 1.2 + 0.5 * len(results))
        axes = grid[0, 0]
        colors: dict[str, str] = {}  # one colour per part, the same in every row
        for row, result in enumerate(results.values()):
            left = 0.0
            for part, seconds in list(result["parts"].items())[:6]:
                new = part not in colors
                color = colors.setdefault(part, f"C{len(colors) % 10}")
                axes.barh(row, seconds * 1e3, left=left, color=color, label=part if new else None)
                left += seconds * 1e3
        axes.set_yticks(range(len(results)), list(results))
        axes.set_xlabel("ms a step (the six largest parts of each)")
        axes.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        save_figure(figure, args.plot)


if __name__ == "__main__":
    main()
