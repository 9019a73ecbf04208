"""Bad input gets an error that names the problem: shapes (both), backends (both), what to do."""

from __future__ import annotations

import operator
import sys
import types
from typing import Any

import numpy as np
import pytest

import tinyae
import tinyae.functional as F
from tinyae import backend as backend_module


def test_matmul_shape_mismatch_names_both_shapes(backend: tinyae.Backend) -> None:
    a, b = tinyae.tensor(np.ones((3, 4))), tinyae.tensor(np.ones((5, 2)))
    with pytest.raises(tinyae.OpError, match=r"\(3, 4\) and \(5, 2\) do not align"):
        a @ b


def test_matmul_needs_matrices(backend: tinyae.Backend) -> None:
    with pytest.raises(tinyae.OpError, match=r"needs matrices.*\(3,\)"):
        tinyae.tensor(np.ones(3)) @ tinyae.tensor(np.ones((3, 2)))


def test_linear_shape_mismatch_names_both_shapes(backend: tinyae.Backend) -> None:
    x, w = tinyae.tensor(np.ones((2, 3))), tinyae.tensor(np.ones((4, 5)))
    with pytest.raises(tinyae.OpError, match=r"input of shape \(2, 3\).*weight \(4, 5\)"):
        F.linear(x, w)
    with pytest.raises(tinyae.OpError, match=r"bias of shape \(4,\) does not fit weight \(3, 5\)"):
        F.linear(x, tinyae.tensor(np.ones((3, 5))), tinyae.tensor(np.ones(4)))


@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul, operator.truediv])
def test_elementwise_shape_mismatch_names_both_shapes(backend: tinyae.Backend, op: Any) -> None:
    a, b = tinyae.tensor(np.ones((2, 3))), tinyae.tensor(np.ones(4))
    with pytest.raises(tinyae.OpError, match=r"shape \(2, 3\).*shape \(4,\)"):
        op(a, b)


def test_loss_shape_mismatch_names_both_shapes(backend: tinyae.Backend) -> None:
    with pytest.raises(
        tinyae.OpError, match=r"mse_loss: input of shape \(2, 3\) and target of shape \(3, 2\)"
    ):
        F.mse_loss(tinyae.tensor(np.ones((2, 3))), tinyae.tensor(np.ones((3, 2))))


def test_cross_entropy_rejects_bad_labels(backend: tinyae.Backend) -> None:
    logits = tinyae.tensor(np.zeros((2, 3)))
    with pytest.raises(tinyae.OpError, match=r"labels must lie in \[0, 3\)"):
        F.cross_entropy(logits, np.array([0, 3]))
    with pytest.raises(tinyae.OpError, match="integer class labels"):
        F.cross_entropy(logits, np.array([0.0, 1.0]))


def test_mixing_backends_names_both() -> None:
    a = tinyae.tensor([1.0])
    b = tinyae.tensor([1.0], backend="strict")
    with pytest.raises(tinyae.BackendError, match=r"'numpy' and 'strict'.*\.to\('numpy'\)"):
        a + b


def test_unknown_backend() -> None:
    with pytest.raises(tinyae.BackendError, match="unknown backend 'tpu'"):
        tinyae.set_backend("tpu")


def test_backward_on_a_non_scalar_needs_grad() -> None:
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(2,\) needs grad="):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match=r"grad of shape \(3,\) for a tensor of shape \(2,\)"):
        (x * 2.0).backward(np.ones(3))


class WrongShape(tinyae.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return x * 2

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return ctx.xp.ones((7,), dtype=grad.dtype)


class WrongDtype(tinyae.Function):
    @staticmethod
    def forward(ctx: Any, x: Any) -> Any:
        return x * 2

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        return ctx.xp.astype(grad, ctx.xp.float64)


def test_an_op_returning_a_gradient_of_the_wrong_shape_is_named(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"WrongShape.backward returned a gradient of shape \(7,\) for input 0.*\(2,\)"
    ):
        WrongShape.apply(x).sum().backward()


def test_an_op_returning_a_gradient_of_the_wrong_dtype_is_named(backend: tinyae.Backend) -> None:
    x = tinyae.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongDtype.backward returned a .*float64 gradient for input 0"):
        WrongDtype.apply(x).sum().backward()


def test_cupy_without_cupy_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend_module, "_CUPY_PROBE", [])
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    backend_module._instances.pop("cupy", None)
    with pytest.raises(tinyae.BackendError, match=r"cupy is not installed.*pip install -e '\.\[gpu\]'"):
        tinyae.get_backend("cupy")
    assert "not installed" in tinyae.available_backends()["cupy"]


def test_cupy_without_a_driver_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_driver() -> int:
        raise RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_driver))  # type: ignore[attr-defined]
    monkeypatch.setattr(backend_module, "_CUPY_PROBE", [])
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setitem(sys.modules, "array_api_compat", types.ModuleType("array_api_compat"))
    backend_module._instances.pop("cupy", None)
    with pytest.raises(tinyae.BackendError, match=r"no usable CUDA driver \(cudaErrorInsufficientDriver"):
        tinyae.set_backend("cupy")


def test_cupy_probe_is_lazy_and_cached() -> None:
    import subprocess

    code = "import sys, tinyae; import tinyae.functional; print('cupy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False", "importing tinyae must not import cupy"
