"""Every op in ``op_specs.SPECS``, on every backend: forward against NumPy, gradient check in float64,
float32 kept end to end, and no graph under ``no_grad``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinyae
from tests.op_specs import SPEC_IDS, SPECS, OpSpec, as_tensors, draw_inputs, reference_output
from tinyae.backend import dtype_name

pytestmark = pytest.mark.parametrize("spec", SPECS, ids=SPEC_IDS)


@given(data=st.data())
def test_forward_matches_numpy_reference(spec: OpSpec, backend: tinyae.Backend, data: st.DataObject) -> None:
    arrays = draw_inputs(data, spec)
    out = spec.call(*as_tensors(arrays, spec, "float64"))
    assert out.backend is backend
    np.testing.assert_allclose(out.numpy(), reference_output(spec, arrays), rtol=spec.rtol, atol=spec.atol)


@given(data=st.data())
def test_gradcheck_float64(spec: OpSpec, backend: tinyae.Backend, data: st.DataObject) -> None:
    tensors = as_tensors(draw_inputs(data, spec), spec, "float64")
    assert tinyae.gradcheck(spec.call, tensors)


@given(data=st.data())
def test_float32_in_float32_out_and_grads_agree_with_float64(
    spec: OpSpec, backend: tinyae.Backend, data: st.DataObject
) -> None:
    arrays = draw_inputs(data, spec)
    grads = {}
    for dtype in ("float32", "float64"):
        tensors = as_tensors(arrays, spec, dtype)
        out = spec.call(*tensors)
        assert dtype_name(out.dtype) == dtype
        direction = np.linspace(-1.0, 1.0, max(out.size, 1)).reshape(out.shape)
        out.backward(direction)
        grads[dtype] = [t.grad for t in tensors if t.requires_grad]
        for t in tensors:
            if t.requires_grad:
                assert dtype_name(t.grad.dtype) == dtype, (
                    f"{spec.name}: {dtype} input got a {t.grad.dtype} grad"
                )
                assert t.grad.shape == t.data.shape
    if spec.noise:
        return  # float32 and float64 draws differ, so their gradients are not comparable
    for g32, g64 in zip(grads["float32"], grads["float64"], strict=True):
        expected = backend.to_numpy(g64)
        np.testing.assert_allclose(
            backend.to_numpy(g32), expected, rtol=2e-3, atol=2e-3 * (1 + np.abs(expected).max())
        )


@given(data=st.data())
def test_no_graph_under_no_grad(spec: OpSpec, backend: tinyae.Backend, data: st.DataObject) -> None:
    tensors = as_tensors(draw_inputs(data, spec), spec, "float64")
    with tinyae.no_grad():
        out = spec.call(*tensors)
    assert out.node is None and not out.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        out.backward()
