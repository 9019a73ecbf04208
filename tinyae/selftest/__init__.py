"""One command that proves a backend, for a machine lent for a few minutes: ``python -m tinyae.selftest``.

``python -m tinyae.selftest --backend cupy --out DIR`` (from a source checkout) prints the environment
(CuPy, CUDA runtime and driver, the device and its memory), trains every model a few steps on numpy and on
the backend from the same weights and compares the losses (float64 to 1e-10, float32 to 1e-3), runs the
op-spec tests on the backend (``pytest -k cupy``), times the W1-W5 epochs of ``benchmarks/train.py`` on the
CPU and the GPU side by side, and writes ``selftest.json`` and ``selftest.md`` to DIR.  Without a usable
GPU it says why and runs the same code on the ``strict`` backend, so the command cannot rot; its report then
lists what only a GPU run proves.  ``--quick`` is a seconds-long version for the test suite.
"""

from tinyae.selftest.run import main

__all__ = ["main"]
