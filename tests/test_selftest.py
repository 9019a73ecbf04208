"""``python -m tinyae.selftest``: the prepared GPU command runs here on strict (quick), so it cannot rot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import tinyae
from tinyae.selftest import parity
from tinyae.selftest.run import main


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path]:
    out = tmp_path_factory.mktemp("selftest")
    status = main(["--backend", "cupy", "--quick", "--out", str(out)])
    return status, out


def test_the_quick_run_passes_and_writes_json_and_markdown(quick_run: tuple[int, Path]) -> None:
    status, out = quick_run
    assert status == 0
    result: dict[str, Any] = json.loads((out / "selftest.json").read_text())
    assert result["ok"] is True and result["requested"] == "cupy"
    assert len(result["parity"]) == 2 * len(parity.MODEL_FACTORIES)
    assert {r["dtype"] for r in result["parity"]} == {"float32", "float64"}
    assert all(r["ok"] and r["same_start"] and len(r["losses"]) == 2 for r in result["parity"])
    assert result["pytest"]["ran"] and result["pytest"]["counts"]["passed"] > 0
    assert result["benchmarks"]["ran"] and not result["benchmarks"]["check_failed"]
    medians = result["benchmarks"]["median_seconds_per_epoch"]["W2"]
    assert f"tinyae ({result['backend']})" in medians and "numpy by hand" in medians
    text = (out / "selftest.md").read_text()
    assert "## Checks" in text and "## What only a GPU run proves" in text


def test_without_a_gpu_it_says_why_and_which_checks_need_one(quick_run: tuple[int, Path]) -> None:
    _, out = quick_run
    result = json.loads((out / "selftest.json").read_text())
    reason = tinyae.available_backends()["cupy"]
    if reason is None:
        assert result["backend"] == "cupy" and result["gpu_ran"] and result["needs_gpu"] == []
        return
    assert result["backend"] == "strict" and not result["gpu_ran"]
    assert reason in result["fallback"] and result["environment"]["gpu"]["available"] is False
    assert any("array-api-compat" in item for item in result["needs_gpu"])
    assert any("Backend.into" in item for item in result["needs_gpu"])
    text = (out / "selftest.md").read_text()
    assert "No GPU check ran" in text and "(not proven by this run)" in text


def test_the_loss_comparison_catches_a_backend_that_computes_differently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    strict = tinyae.get_backend("strict")
    matmul, operator = strict.xp.matmul, type(strict.asarray([1.0])).__matmul__
    monkeypatch.setattr(strict.xp, "matmul", lambda a, b: matmul(a, b) * (1 + 1e-7))
    monkeypatch.setattr(type(strict.asarray([1.0])), "__matmul__", lambda a, b: operator(a, b) * (1 + 1e-7))
    wrong = parity.compare_model("plain", "strict", "float64", steps=2, width=16)
    assert not wrong["ok"] and 1e-10 < wrong["max_rel_diff"] < 1e-3
    monkeypatch.undo()
    assert parity.compare_model("plain", "strict", "float64", steps=2, width=16)["ok"]


def test_an_unknown_backend_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="unknown backend 'tpu'"):
        main(["--backend", "tpu", "--out", str(tmp_path)])
