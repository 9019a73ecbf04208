"""Milliseconds per tinyae training step of one workload, for two checkouts of tinyae, alternated.

Before and after a change to the engine, a ratio measured side by side says more than two isolated runs
taken minutes apart on a shared machine.  Each round runs every tree once, in a fresh process that imports
tinyae from that tree, builds the workload from the same initial weights (``workloads.initial_weights``),
warms up, and times steps on the same batches; the table gives each tree's best and median over the
rounds, and the ratio of each to the first tree.

    python benchmarks/compare_trees.py ../tinyae-before . --workloads W1,W2 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import tinyae, workloads, tinyae_workloads
key, steps, warmup = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
spec = workloads.WORKLOADS[key]
params, step = tinyae_workloads.build(key, workloads.initial_weights(spec, "float32", 0))
rng = np.random.default_rng(0)
batches = [tinyae.tensor(rng.random((spec.batch, 784), dtype=np.float32)) for _ in range(8)]
noise = tinyae.tensor(rng.standard_normal((spec.batch, 20)).astype(np.float32))
run = (lambda i: step(batches[i % 8], noise)) if key.startswith("W5") else (lambda i: step(batches[i % 8]))
for i in range(warmup):
    run(i)
times = []
for _ in range(5):
    start = time.perf_counter()
    for i in range(steps):
        run(i)
    times.append((time.perf_counter() - start) / steps * 1e3)
print(json.dumps(min(times)))
"""


def time_step(tree: Path, key: str, steps: int, warmup: int) -> float:
    """Best of five timings of ``steps`` steps, in ms a step, with tinyae imported from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree / "benchmarks"), key, str(steps), str(warmup)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tree,
    )
    if result.returncode != 0:
        raise SystemExit(f"compare_trees: error: {tree} {key}: {result.stderr.strip().splitlines()[-1]}")
    return float(json.loads(result.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="+", type=Path, help="checkouts of tinyae (the first: the reference)")
    parser.add_argument("--workloads", default="W1,W2", help="comma-separated (default W1,W2)")
    parser.add_argument("--rounds", type=int, default=4, help="alternations of the trees (default 4)")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per timing (default 100)")
    parser.add_argument("--warmup", type=int, default=200, help="steps before timing (default 200)")
    args = parser.parse_args(argv)
    trees = [tree.resolve() for tree in args.trees]
    for tree in trees:
        if not (tree / "tinyae" / "__init__.py").exists():
            parser.error(f"{tree} holds no tinyae package")
    print("| workload | tree | best ms/step | median ms/step | best / first tree's best |")
    print("| --- | --- | --- | --- | --- |")
    for key in args.workloads.upper().replace("P", "p").split(","):
        samples: dict[Path, list[float]] = {tree: [] for tree in trees}
        for _ in range(args.rounds):
            for tree in trees:
                samples[tree].append(time_step(tree, key, args.steps, args.warmup))
        reference = min(samples[trees[0]])
        for tree in trees:
            best, median = min(samples[tree]), statistics.median(samples[tree])
            print(f"| {key} | {tree.name} | {best:.3f} | {median:.3f} | {best / reference:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
