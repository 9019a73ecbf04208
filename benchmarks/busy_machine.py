"""How a training run copes with a busy machine: quiet, with one and with two busy processes.

Runs a command (by default ``tinyae train ae --quiet``) as a user would, in a subprocess, while 0, 1 and 2
other processes spin on the CPU (``while 1: pass``), with three BLAS settings, alternating them:

- ``default``: BLAS left alone (``TINYAE_BLAS_THREADS=off``: one OpenBLAS thread per core, as before
  ``tinyae.threads`` existed),
- ``adaptive``: what ``fit`` does now (BLAS gets the cores other processes leave free),
- ``one``: ``OPENBLAS_NUM_THREADS=1``.

It prints the best and median wall time of each, and their ratio to the quiet time, and writes JSON.

    python benchmarks/busy_machine.py --repeats 3 --json busy.json
    python benchmarks/busy_machine.py --command "python tutorials/07_batchnorm_autoencoder.py --epochs 5"

Times on a machine shared with other work are noisy: compare the ratios of one run, side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SETTINGS = {
    "default": {"TINYAE_BLAS_THREADS": "off"},
    "adaptive": {"TINYAE_BLAS_THREADS": "auto"},
    "one": {"OPENBLAS_NUM_THREADS": "1"},
}
ROOT = Path(__file__).resolve().parent.parent


def timed(command: list[str], extra: dict[str, str], cwd: str) -> float:
    env = {
        k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS") and k != "TINYAE_BLAS_THREADS"
    }
    env.update(extra)
    env.setdefault("PYTHONPATH", str(ROOT))
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--command", default=f"{sys.executable} -m tinyae.cli train ae --quiet --out out")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--busy", default="0,1,2", help="numbers of busy processes to try")
    parser.add_argument("--json", help="write the times here")
    args = parser.parse_args()
    command = shlex.split(args.command)
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as cwd:
        for busy in (int(n) for n in args.busy.split(",")):
            hogs = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(busy)]
            try:
                for _ in range(args.repeats):
                    for name, extra in SETTINGS.items():  # alternate the settings: drift hits all alike
                        results.setdefault(str(busy), {}).setdefault(name, []).append(
                            timed(command, extra, cwd)
                        )
            finally:
                for hog in hogs:
                    hog.kill()
                    hog.wait()
    quiet = {name: min(results["0"][name]) for name in SETTINGS} if "0" in results else None
    print(f"{'busy':>4} {'setting':9} {'best s':>7} {'median s':>8}  x quiet (same setting)  x quiet default")
    for busy, by_setting in results.items():
        for name, times in by_setting.items():
            best = min(times)
            own = f"{best / quiet[name]:.2f}" if quiet else "-"
            base = f"{best / quiet['default']:.2f}" if quiet else "-"
            print(f"{busy:>4} {name:9} {best:7.2f} {statistics.median(times):8.2f}  {own:>21}  {base:>15}")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": args.command, "seconds": results}, indent=2))


if __name__ == "__main__":
    main()
