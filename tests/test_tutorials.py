"""Every tutorial runs in --quick mode (on numpy, and tutorial 1 on strict too) and writes its numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"


@pytest.mark.parametrize("backend", ["numpy", "strict"])
def test_tutorial_01_engine(tmp_path: Path, backend: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(TUTORIALS / "01_engine.py"),
            "--quick",
            "--backend",
            backend,
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "gradcheck: analytic gradients match" in result.stdout
    assert "L2Loss" in (tmp_path / "graph.dot").read_text()
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert numbers["loss_after"] < numbers["loss_before"]
