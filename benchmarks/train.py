"""Seconds per training epoch of five classic autoencoders: tinyae against hand-written NumPy and PyTorch.

The workloads (``workloads.py``), float32, 60,000 samples per epoch by default:

    W1  AE 784-500-300-20-300-500-784, ReLU, sigmoid output, l2_loss, Adam, batch 100
    W2  tied AE 784-500, sigmoid, cross-entropy (from the logits), SGD 0.1, batch 20
    W3  batch-norm AE 784-400-300-200-20 + mirror, ReLU, batch mean of the L2 error norm, Adam, batch 128
    W4  stacked AE 784-256-128-256-784, sigmoid everywhere, MSE, RMSprop 0.02, batch 256
    W5  VAE 784-400-20 + decoder 20-400-784, BCE + KL, Adam, batch 128
    W2p W2 with a sigmoid output and ``binary_cross_entropy`` of the probabilities (the Theano post's form)
    W5p W5 likewise (the form of PyTorch's VAE example)

``--loss-form`` picks the form of the losses a source also writes from probabilities: ``logits`` (W2,
W5), ``probs`` (W2p, W5p) or ``both`` (the default: all four).  W1, W3 and W4 already apply a sigmoid
and then take a loss of the probabilities (l2, the error norm, MSE).

The systems: "numpy by hand" (``numpy_reference.py``: forward, backward and update written out), tinyae on
each backend asked for (``tinyae_workloads.py``: nn layers, functional losses, optim), and PyTorch CPU eager
(``torch_workloads.py``) when torch is installed.  Rows that cannot run here (cupy without a GPU, PyTorch
not installed) are named with the reason and skipped.

For each workload every system starts from the same host weights.  First, as the warm-up, each runs the
same ``--check-steps`` + 1 steps on the same batches (and, for the VAE, the same pre-drawn noise): the loss
of the last step, computed after ``--check-steps`` updates, must agree with the hand-written NumPy loss
within 1e-3 (relative) in float32 and 1e-6 in float64, so that no speed is bought with wrong results.
Then whole epochs are timed, the systems taking turns, the device synchronised before each clock read;
the tables give the median and minimum seconds per epoch, the ratios to hand-written NumPy, and the ratios
to the GEMM-bound time (``roofline.py``: the epoch's matrix products at the rate BLAS reaches at their
shapes).  The exit status is 1 when a check fails.  With ``--isolate`` each timed epoch runs in a fresh
process holding one system only: systems that share a process change each other's times (heap, caches,
worker threads that keep spinning), so report isolated figures.

Run (unsetting the OpenBLAS variables this machine may set, which slow NumPy):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/train.py --isolate --json train.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np
import numpy_reference
import roofline
import tinyae_workloads
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
from workloads import (
    LATENT_NOISE_SHAPE,
    LOSS_FORMS,
    WORKLOADS,
    epoch_data,
    initial_weights,
    load_data,
    workload_keys,
)

import tinyae
from tinyae.data import DataLoader

REFERENCE = "numpy by hand"
WORKER_WARMUP_STEPS = 200  # --isolate: untimed steps in each timing process before its timed epoch
TOLERANCE = {"float32": 1e-3, "float64": 1e-6}


# --- the systems --------------------------------------------------------------------------------------------


class HandNumpy:
    """The hand-written NumPy workloads, batches sliced from the host epoch array."""

    name = REFERENCE
    worker_id = "hand"
    gpu = False

    def setup(self, key: str, weights: dict[str, np.ndarray], data: np.ndarray, batch: int) -> None:
        self.params, self.step = numpy_reference.build(key, weights)
        self.data, self.batch = data, batch

    def epoch(self) -> None:
        step, data, batch = self.step, self.data, self.batch
        for start in range(0, len(data), batch):
            step(data[start : start + batch])

    def losses(self, batches: list[np.ndarray], noise: list[Any]) -> list[float]:
        return [float(self.step(x, eps)) for x, eps in zip(batches, noise, strict=True)]

    def host_parameters(self) -> list[np.ndarray]:
        return [p.copy() for p in self.params]

    def sync(self) -> None:
        pass


class Tinyae:
    """The tinyae workloads on one backend, batches from a ``tinyae.data.DataLoader`` (unshuffled)."""

    def __init__(self, backend: str) -> None:
        self.backend = tinyae.get_backend(backend)
        self.name = f"tinyae ({backend})"
        self.worker_id = f"tinyae:{backend}"
        self.gpu = self.backend.is_gpu

    def setup(self, key: str, weights: dict[str, np.ndarray], data: np.ndarray, batch: int) -> None:
        self.params, self.step = tinyae_workloads.build(key, weights, self.backend)
        self.loader = DataLoader(data, batch_size=batch, shuffle=False, drop_last=True, backend=self.backend)
        next(iter(self.loader))  # the first pass copies the data to the device: not part of any epoch

    def epoch(self) -> None:
        step, backend = self.step, self.backend
        for x in self.loader:
            step(tinyae.Tensor(x, backend=backend))  # wraps the batch array, no copy

    def losses(self, batches: list[np.ndarray], noise: list[Any]) -> list[float]:
        backend = self.backend
        losses = []
        for x, eps in zip(batches, noise, strict=True):
            noise_tensor = None if eps is None else tinyae.Tensor(backend.asarray(eps), backend=backend)
            losses.append(self.step(tinyae.Tensor(backend.asarray(x), backend=backend), noise_tensor).item())
        return losses

    def host_parameters(self) -> list[np.ndarray]:
        return [np.array(p.numpy(), copy=True) for p in self.params]

    def sync(self) -> None:
        self.backend.synchronize()


class Torch:
    """The PyTorch CPU workloads, batches split from one tensor sharing the host epoch array."""

    name = "pytorch (cpu)"
    worker_id = "torch"
    gpu = False

    def __init__(self) -> None:
        import torch
        import torch_workloads

        self.torch, self.workloads = torch, torch_workloads

    def setup(self, key: str, weights: dict[str, np.ndarray], data: np.ndarray, batch: int) -> None:
        self.params, self.step, self.to_host = self.workloads.build(key, weights)
        self.batches = self.torch.from_numpy(data).split(batch)

    def epoch(self) -> None:
        step = self.step
        for x in self.batches:
            step(x)

    def losses(self, batches: list[np.ndarray], noise: list[Any]) -> list[float]:
        from_numpy = self.torch.from_numpy
        return [
            float(self.step(from_numpy(x), None if eps is None else from_numpy(eps)).item())
            for x, eps in zip(batches, noise, strict=True)
        ]

    def host_parameters(self) -> list[np.ndarray]:
        return list(self.to_host())

    def sync(self) -> None:
        pass


def torch_status() -> str | None:
    """None when PyTorch can be used, else why not."""
    if importlib.util.find_spec("torch") is None:
        return "PyTorch is not installed (optional: pip install torch)"
    return None


# --- one workload -------------------------------------------------------------------------------------------


def _relative(value: float, reference: float) -> float:
    return abs(value - reference) / max(abs(reference), 1e-300)


def check(
    systems: list[Any], key: str, epoch: np.ndarray, batch: int, steps: int, dtype: str, seed: int
) -> dict[str, Any]:
    """Run ``steps + 1`` identical steps on every system; compare losses and parameters with the reference."""
    per_epoch = len(epoch) // batch
    batches = [epoch[(i % per_epoch) * batch : (i % per_epoch + 1) * batch] for i in range(steps + 1)]
    noise: list[Any] = [None] * (steps + 1)
    if key in LATENT_NOISE_SHAPE:  # one host generator: the same reparameterisation noise for every system
        rng = np.random.default_rng([seed, 99])
        noise = list(rng.standard_normal((steps + 1, batch, LATENT_NOISE_SHAPE[key])).astype(dtype))
    losses = {s.name: s.losses(batches, noise) for s in systems}
    params = {s.name: s.host_parameters() for s in systems}
    reference_losses, reference_params = losses[REFERENCE], params[REFERENCE]
    result: dict[str, Any] = {"steps": steps, "tolerance": TOLERANCE[dtype], "systems": {}}
    for s in systems:
        final = losses[s.name][-1]
        # all parameters as one vector: a near-zero bias that Adam moves by +-lr on a rounding-level
        # gradient would make a per-array relative difference meaningless in float32
        squared_diff = sum(
            float(np.sum((p - r) ** 2)) for p, r in zip(params[s.name], reference_params, strict=True)
        )
        squared_norm = sum(float(np.sum(r**2)) for r in reference_params)
        param_diff = (squared_diff / squared_norm) ** 0.5
        relative = _relative(final, reference_losses[-1])
        result["systems"][s.name] = {
            "final_loss": final,
            "first_loss": losses[s.name][0],
            "relative_loss_diff": relative,
            "max_relative_loss_diff": max(
                _relative(a, b) for a, b in zip(losses[s.name], reference_losses, strict=True)
            ),
            "relative_param_diff": param_diff,
            "ok": bool(relative < TOLERANCE[dtype]) and bool(np.isfinite(final)),
            "losses": losses[s.name],
        }
    return result


def run_workload(key: str, systems: list[Any], data: np.ndarray, args: argparse.Namespace) -> dict[str, Any]:
    workload = WORKLOADS[key]
    epoch = epoch_data(data, workload.batch, args.epoch_samples)
    steps = len(epoch) // workload.batch
    gemm_repeats = 5 if args.quick else 20
    bounds = {"cpu": roofline.measure_workload(workload, "numpy", args.dtype, gemm_repeats, steps)}
    if any(s.gpu for s in systems):
        bounds["gpu"] = roofline.measure_workload(workload, "cupy", args.dtype, gemm_repeats, steps)
    weights = initial_weights(workload, args.dtype, args.seed)
    for s in systems:
        s.setup(key, weights, epoch, workload.batch)
    checked = check(systems, key, epoch, workload.batch, args.check_steps, args.dtype, args.seed)
    if args.isolate:
        samples = time_isolated(systems, key, args)
    else:
        samples = time_alternating(
            {s.name: s.epoch for s in systems}, args.repeats, {s.name: s.sync for s in systems}, warmup=0
        )
    reference = summarize(samples[REFERENCE])
    timing = {}
    for s in systems:
        stats = summarize(samples[s.name])
        bound = bounds["gpu" if s.gpu else "cpu"]["bound_seconds"]
        timing[s.name] = {
            **stats,
            "samples_s": samples[s.name],
            "ms_per_step": 1e3 * stats["median"] / steps,
            "ratio_to_numpy": {
                "median": stats["median"] / reference["median"],
                "min": stats["min"] / reference["min"],
            },
            "ratio_to_gemm_bound": {"median": stats["median"] / bound, "min": stats["min"] / bound},
        }
    return {
        "label": workload.label,
        "batch": workload.batch,
        "steps_per_epoch": steps,
        "samples_per_epoch": steps * workload.batch,
        "gemm": bounds,
        "check": checked,
        "timing": timing,
    }


# --- timing each epoch in a process of its own (--isolate) -------------------------------------------------


def time_isolated(systems: list[Any], key: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds per epoch, each sample from a fresh process that runs one system only, systems in turn.

    In one process the systems share the heap and the caches: the hand-written W2 step took 0.89 or
    0.98 ms here depending only on how tinyae's SGD, run in the same process, allocated its arrays.
    """
    samples: dict[str, list[float]] = {s.name: [] for s in systems}
    for _ in range(args.repeats):
        for s in systems:
            command = [
                sys.executable,
                __file__,
                "--worker",
                s.worker_id,
                "--workloads",
                key,
                "--epoch-samples",
                str(args.epoch_samples),
                "--dtype",
                args.dtype,
                "--data",
                args.data,
                "--seed",
                str(args.seed),
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"the timing process of {s.name} on {key} failed:\n{done.stderr[-2000:]}")
            samples[s.name].append(float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"]))
    return samples


def run_worker(args: argparse.Namespace) -> int:
    """One system, one workload: warm-up epochs (at least one, and at least 200 steps, so that the heap and
    the caches reach their steady state), then one timed epoch, printed as JSON."""
    if args.worker == "hand":
        system: Any = HandNumpy()
    elif args.worker == "torch":
        system = Torch()
    else:
        system = Tinyae(args.worker.split(":", 1)[1])
    key = _canonical(args.workloads)
    workload = WORKLOADS[key]
    data, _ = load_data(args.data, args.epoch_samples, args.dtype, args.seed)
    epoch = epoch_data(data, workload.batch, args.epoch_samples)
    system.setup(key, initial_weights(workload, args.dtype, args.seed), epoch, workload.batch)
    steps = len(epoch) // workload.batch
    for _ in range(max(1, -(-WORKER_WARMUP_STEPS // steps))):
        system.epoch()
    system.sync()
    start = time.perf_counter()
    system.epoch()
    system.sync()
    print(json.dumps({"seconds": time.perf_counter() - start}))
    return 0


# --- reporting ----------------------------------------------------------------------------------------------


def print_tables(results: dict[str, Any], names: list[str], args: argparse.Namespace) -> None:
    others = [n for n in names if n != REFERENCE]
    print(
        f"\n## Seconds per epoch ({args.epoch_samples:,} samples, {args.dtype}): "
        f"median [min] of {args.repeats}\n"
    )
    rows = []
    for r in results.values():
        cells = [f"{r['timing'][n]['median']:.3f} [{r['timing'][n]['min']:.3f}]" for n in names]
        gemm = " / ".join(f"{b['bound_seconds']:.3f}" for b in r["gemm"].values())
        rows.append([r["label"], r["batch"], r["steps_per_epoch"], *cells, gemm])
    gemm_header = "GEMM-bound" + (" (cpu / gpu)" if any(len(r["gemm"]) > 1 for r in results.values()) else "")
    print(markdown_table(["workload", "batch", "steps", *names, gemm_header], rows))

    print("\n## Ratios of the medians (min in brackets): to hand-written NumPy, and to the GEMM-bound time\n")
    headers = [f"{n} / by hand" for n in others] + [f"{n} / GEMM-bound" for n in names]
    rows = []
    for r in results.values():
        t = r["timing"]
        rows.append(
            [r["label"].split(" ")[0]]
            + [
                f"{t[n]['ratio_to_numpy']['median']:.2f} [{t[n]['ratio_to_numpy']['min']:.2f}]"
                for n in others
            ]
            + [f"{t[n]['ratio_to_gemm_bound']['median']:.2f}" for n in names]
        )
    print(markdown_table(["workload", *headers], rows))

    steps = args.check_steps
    print(
        f"\n## Same results: loss after {steps} updates from the same weights, against hand-written NumPy "
        f"({args.dtype}, tolerance {TOLERANCE[args.dtype]:g})\n"
    )
    rows = []
    for r in results.values():
        for n, c in r["check"]["systems"].items():
            if n == REFERENCE:
                rows.append([r["label"].split(" ")[0], n, f"{c['final_loss']:.7g}", "", "", "", "reference"])
                continue
            rows.append(
                [
                    r["label"].split(" ")[0],
                    n,
                    f"{c['final_loss']:.7g}",
                    f"{c['relative_loss_diff']:.1e}",
                    f"{c['max_relative_loss_diff']:.1e}",
                    f"{c['relative_param_diff']:.1e}",
                    "ok" if c["ok"] else "FAILED",
                ]
            )
    print(
        markdown_table(
            [
                "workload",
                "system",
                "loss",
                "rel. diff",
                f"max rel. diff, {steps + 1} steps",
                "params: rel. L2 diff",
                "",
            ],
            rows,
        )
    )


def plot(results: dict[str, Any], names: list[str], path: str) -> None:
    """Left: seconds per epoch per system with the GEMM-bound time; right: ratio to hand-written NumPy."""
    figure, axes = new_figure(11, 4, 1, 2)
    left, right = axes[0]
    keys = list(results)
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        positions = [i + j * width for i in range(len(keys))]
        left.bar(positions, [results[k]["timing"][name]["median"] for k in keys], width=width, label=name)
        right.bar(
            positions,
            [results[k]["timing"][name]["ratio_to_numpy"]["median"] for k in keys],
            width=width,
            label=name,
        )
    for i, k in enumerate(keys):
        bound = results[k]["gemm"]["cpu"]["bound_seconds"]
        label = "GEMM-bound (cpu)" if i == 0 else None
        left.hlines(bound, i - width / 2, i + 0.8 - width / 2, colors="black", linestyles="--", label=label)
    centre = [i + 0.4 - width / 2 for i in range(len(keys))]
    for ax, title in ((left, "seconds per epoch (median)"), (right, "time / hand-written NumPy (median)")):
        ax.set_xticks(centre, keys)
        ax.set_title(title, fontsize=9)
    right.axhline(1.0, color="black", linewidth=0.8)
    left.legend(fontsize=7)
    save_figure(figure, path)


def _canonical(key: str) -> str:
    """``w2p`` -> ``W2p``: workload names as written in ``workloads.WORKLOADS``."""
    key = key.strip()
    return key[:2].upper() + key[2:].lower()


# --- main ---------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--epoch-samples", type=int, default=None, help="samples per epoch (default 60000)")
    parser.add_argument("--data", default="random", choices=["random", "sample", "mnist"])
    parser.add_argument("--workloads", default="W1,W2,W3,W4,W5", help="comma-separated (default all)")
    parser.add_argument(
        "--loss-form",
        default="both",
        choices=LOSS_FORMS,
        help="losses from the logits (W2, W5), of the probabilities (W2p, W5p), or both (default)",
    )
    parser.add_argument("--check-steps", type=int, default=None, help="updates before the loss check (50)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even when installed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--isolate",
        action="store_true",
        help="time each epoch in a fresh process running one system (no shared heap or caches)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one timing process of --isolate
    args = parser.parse_args()
    if args.worker:
        args.epoch_samples = args.epoch_samples or 60000
        return run_worker(args)
    args.repeats = args.repeats or (2 if args.quick else args.default_repeats)
    args.epoch_samples = args.epoch_samples or (1280 if args.quick else 60000)
    args.check_steps = args.check_steps if args.check_steps is not None else (10 if args.quick else 50)
    keys = [_canonical(k) for k in args.workloads.split(",")]
    unknown = [k for k in keys if k not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    keys = workload_keys(keys, args.loss_form)

    backends, skipped = resolve_backends(args.backend)
    systems: list[Any] = [HandNumpy(), *(Tinyae(b) for b in backends)]
    skipped = {f"tinyae ({name})": reason for name, reason in skipped.items()}
    torch_reason = "left out with --no-torch" if args.no_torch else torch_status()
    if torch_reason is None:
        systems.append(Torch())
    else:
        skipped["pytorch (cpu)"] = torch_reason

    env = environment()
    print("\n".join(environment_lines(env)))
    data, source = load_data(args.data, args.epoch_samples, args.dtype, args.seed)
    print(f"data: {source}; {args.dtype}")
    print(f"systems: {', '.join(s.name for s in systems)}")
    for name, reason in skipped.items():
        print(f"skipped: {name}: {reason}")

    results = {}
    for key in keys:
        print(f"running {WORKLOADS[key].label} ...", file=sys.stderr, flush=True)
        results[key] = run_workload(key, systems, data, args)
    names = [s.name for s in systems]
    print_tables(results, names, args)

    failed = [
        f"{key} {name}"
        for key, r in results.items()
        for name, c in r["check"]["systems"].items()
        if not c["ok"]
    ]
    summary = {
        key: {n: statistics.median(r["timing"][n]["samples_s"]) for n in names} for key, r in results.items()
    }
    if args.json:
        write_json(
            args.json,
            {
                "environment": env,
                "args": {k: v for k, v in vars(args).items() if k != "default_repeats"},
                "data": source,
                "systems": names,
                "skipped": skipped,
                "median_seconds_per_epoch": summary,
                "workloads": results,
                "check_failed": failed,
            },
        )
    if args.plot:
        plot(results, names, args.plot)
    if failed:
        print(f"\nCHECK FAILED (results differ from hand-written NumPy): {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
