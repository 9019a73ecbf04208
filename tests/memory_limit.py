"""Run a snippet of Python in a child process whose address space is capped (RLIMIT_AS): the fuzz tests'
proof that a forged size in a file cannot make a loader allocate what the file does not hold."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# the child's address space as it is after its imports, plus 64 MB: far less than any forged size, far
# more than any genuine file the tests load
PRELUDE = textwrap.dedent(
    """
    import resource

    def vm_size():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))

    limit = vm_size() + (64 << 20)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    """
)

HAS_RLIMIT = os.path.exists("/proc/self/status")  # Linux: /proc and RLIMIT_AS


def run_limited(imports: str, body: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``imports``, then cap the memory, then run ``body`` with ``sys.argv[1:] == args``."""
    script = textwrap.dedent(imports) + PRELUDE + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=120
    )
