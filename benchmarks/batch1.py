"""W1 at batch 1: forward + backward alone, and a full Adam step, tinyae against hand-written NumPy.

At batch 1 there is almost no arithmetic, so this measures what the engine itself costs per step: Python
per op, and the array calls that are slow at that size (NumPy's matmul skips BLAS when a dimension is 1).
The two systems start from the same weights and take turns, after a warm-up.

Run (unsetting the OpenBLAS variables this machine may set, which slow NumPy):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/batch1.py --repeats 300
"""

from __future__ import annotations

import argparse

import numpy as np
import numpy_reference
import tinyae_workloads
from common import (
    add_common_arguments,
    environment,
    markdown_table,
    new_figure,
    save_figure,
    summarize,
    time_alternating,
    write_json,
)
from workloads import WORKLOADS, initial_weights

import tinyae
from tinyae import models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=300, backend="numpy")
    args = parser.parse_args()
    repeats = args.repeats or (20 if args.quick else args.default_repeats)
    backend = tinyae.get_backend(args.backend.split(",")[0] if args.backend != "auto" else "numpy")
    weights = initial_weights(WORKLOADS["W1"], "float32")
    _, hand_step = numpy_reference.build("W1", weights)
    _, tinyae_step = tinyae_workloads.build("W1", weights, backend)
    x_host = np.random.default_rng(0).random((1, 784), dtype=np.float32)
    x = backend.asarray(x_host)

    model = models.Autoencoder([784, 500, 300, 20], "relu", loss="l2", backend=backend.name)
    batch = tinyae.tensor(x_host, backend=backend)

    def forward_backward() -> None:
        model.zero_grad()
        model.loss(batch)[0].backward()

    samples = time_alternating(
        {
            "numpy by hand: Adam step": lambda: hand_step(x_host),
            f"tinyae ({backend.name}): Adam step": lambda: tinyae_step(x),
        },
        repeats,
        backend.synchronize,
    )
    # timed on its own: between Adam steps, which sweep 13 MB of optimizer state, the caches start cold
    alone = {f"tinyae ({backend.name}): forward + backward": forward_backward}
    samples.update(time_alternating(alone, repeats, backend.synchronize))
    summary = {name: summarize(s) for name, s in samples.items()}
    print(f"W1 (784-500-300-20-300-500-784, ReLU, l2, Adam) at batch 1, {repeats} repeats\n")
    rows = [(name, f"{1e3 * row['median']:.3f}", f"{1e3 * row['min']:.3f}") for name, row in summary.items()]
    print(markdown_table(["system", "median ms", "min ms"], rows))
    names = list(summary)
    print(f"\nAdam step, tinyae / by hand: {summary[names[1]]['median'] / summary[names[0]]['median']:.2f}")
    if args.json:
        write_json(args.json, {"environment": environment(), "summary": summary, "samples_s": samples})
    if args.plot:
        figure, grid = new_figure(7.0, 3.0)
        axes = grid[0, 0]
        axes.barh(names, [1e3 * summary[n]["median"] for n in names], color=["C0", "C1", "C2"])
        axes.set_xlabel("median ms per call")
        axes.set_title("W1 at batch 1")
        save_figure(figure, args.plot)


if __name__ == "__main__":
    main()
