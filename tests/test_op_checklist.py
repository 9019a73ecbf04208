"""The op checklist, enforced: what every op of ``tinyae.functional`` must have, and proof that each check
catches a deliberately broken op.

1. a spec in ``tests/op_specs.py`` (and through it the forward, gradient, dtype and no_grad tests);
2. extreme inputs in ``op_specs.EXTREME_INPUTS``, where its value and gradient must be finite, with no
   floating-point warning, in float32 and float64;
3. ``fresh_gradients = True`` only if backward returns arrays it has just made: never an input, a saved
   array, ``grad`` itself, or one array for two inputs (the driver adds into such arrays in place);
4. examples in the docstrings of its module, which run (``doctest_examples``).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
import types
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyae
import tinyae.functional as F
from tests.op_specs import (
    EXTREME_INPUTS,
    SPECS,
    Domain,
    OpSpec,
    as_tensors,
    draw_inputs,
    public_name,
    same,
)
from tinyae.tensor import Context, Function

FUNCTIONAL_MODULES = [
    "tinyae.functional",
    "tinyae.functional.activations",
    "tinyae.functional.basic",
    "tinyae.functional.losses",
    "tinyae.functional.normalization",
    "tinyae.functional.stochastic",
]


# --- the checks ---------------------------------------------------------------------------------------------


def public_ops(module: types.ModuleType = F) -> list[str]:
    """The public names of ``module`` that are ops: functions, not types such as ``BatchNormResult``."""
    return [name for name in module.__all__ if inspect.isfunction(getattr(module, name))]


def missing_specs(names: list[str], specs: list[OpSpec]) -> list[str]:
    covered = {public_name(spec) for spec in specs}
    return [name for name in names if name not in covered]


def missing_extremes(names: list[str], specs: list[OpSpec], extremes: dict[str, Any]) -> list[str]:
    with_cases = {public_name(spec) for spec in specs if extremes.get(spec.name)}
    return [name for name in names if name not in with_cases]


def extreme_problems(spec: OpSpec, case: tuple[Any, ...], dtype: str) -> list[str]:
    """What goes wrong for ``spec`` on one extreme case: warnings, non-finite values or gradients."""
    arrays = [
        np.asarray(value, dtype=np.int64 if domain.labels else np.float64)
        for value, domain in zip(case, spec.domains, strict=True)
    ]
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tensors = as_tensors(arrays, spec, dtype)
        out = spec.call(*tensors)
        value = out.numpy()
        if not np.isfinite(value).all():
            problems.append(f"{spec.name} ({dtype}): value {value.tolist()} is not finite")
        out.backward(np.linspace(0.5, 1.5, max(out.size, 1)).reshape(out.shape))
        for i, t in enumerate(tensors):
            if t.requires_grad and not np.isfinite(t.backend.to_numpy(t.grad)).all():
                grad = t.backend.to_numpy(t.grad).tolist()
                problems.append(f"{spec.name} ({dtype}): gradient of input {i} {grad} is not finite")
    problems += [f"{spec.name} ({dtype}): warned {w.message}" for w in caught]
    return problems


def fresh_ops() -> set[type[Function]]:
    """Every loaded Function subclass that declares ``fresh_gradients = True``."""
    found, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.fresh_gradients:
                found.add(sub)
    return found


def _contexts(out: tinyae.Tensor) -> Iterator[Context]:
    seen, stack = set(), [out.node]
    while stack:
        node = stack.pop()
        if isinstance(node, Context) and id(node) not in seen:
            seen.add(id(node))
            yield node
            stack.extend(node.inputs)


def _shares(a: Any, b: Any) -> bool:
    return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.shares_memory(a, b)


def fresh_violations(
    spec: OpSpec, arrays: list[np.ndarray], monkeypatch: pytest.MonkeyPatch, checked: set[type[Function]]
) -> list[str]:
    """Run ``spec`` (numpy backend) with each fresh op's forward recording its input arrays, then call every
    fresh op's backward by hand and report gradients that share memory with an input, a saved array,
    ``grad`` or another returned gradient."""
    with monkeypatch.context() as patch:
        for op in fresh_ops():
            if "forward" in vars(op):
                patch.setattr(op, "forward", staticmethod(_recording(op.forward)))
        out = spec.call(*as_tensors(arrays, spec, "float64"))
    problems = []
    rng = np.random.default_rng(0)
    for ctx in _contexts(out):
        inputs = getattr(ctx, "checklist_inputs", None)
        if inputs is None or not ctx.op.fresh_gradients:
            continue
        checked.add(ctx.op)
        grad = rng.standard_normal(ctx.out_shape).astype(ctx.out_dtype)
        grads = ctx.op.backward(ctx, grad)
        grads = grads if isinstance(grads, tuple) else (grads,)
        name = ctx.op.__name__
        for i, g in enumerate(grads):
            owners = [("grad", grad)] + [(f"input {j}", a) for j, a in enumerate(inputs)]
            owners += [(f"saved array {j}", a) for j, a in enumerate(ctx.saved)]
            owners += [(f"gradient {j}", other) for j, other in enumerate(grads) if j != i]
            problems += [
                f"{name}: gradient {i} shares memory with {what}" for what, a in owners if _shares(g, a)
            ]
    return problems


def _recording(forward: Callable[..., Any]) -> Callable[..., Any]:
    def recording(ctx: Context, *arrays: Any, **params: Any) -> Any:
        ctx.checklist_inputs = arrays
        return forward(ctx, *arrays, **params)

    return recording


def doctest_examples(module: types.ModuleType) -> doctest.TestResults:
    """Run the docstring examples of ``module``; fail when it has none or when one fails.

    The shared doctest check: a test that runs a module's examples should call this, so that a module
    whose examples were deleted (or never written) fails instead of passing with nothing run.
    """
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module.__name__} has no docstring examples (>>> lines) to run"
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module.__name__} failed"
    return result


# --- the checklist on the real ops --------------------------------------------------------------------------


def test_every_public_op_has_a_spec() -> None:
    assert missing_specs(public_ops(), SPECS) == []


def test_every_public_op_declares_extreme_inputs() -> None:
    assert missing_extremes(public_ops(), SPECS, EXTREME_INPUTS) == []
    assert set(EXTREME_INPUTS) <= {spec.name for spec in SPECS}, "EXTREME_INPUTS names an unknown spec"


EXTREME_CASES = [
    pytest.param(spec, case, id=f"{spec.name}-{i}")
    for spec in SPECS
    for i, case in enumerate(EXTREME_INPUTS.get(spec.name, []))
]


@pytest.mark.parametrize(("spec", "case"), EXTREME_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_values_and_gradients_finite_on_extreme_inputs(
    backend: tinyae.Backend, spec: OpSpec, case: tuple[Any, ...], dtype: str
) -> None:
    assert extreme_problems(spec, case, dtype) == []


def test_fresh_gradients_are_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: set[type[Function]] = set()
    problems = []
    with tinyae.use_backend("numpy"):
        for spec in SPECS:
            arrays = draw_inputs_fixed(spec)
            problems += fresh_violations(spec, arrays, monkeypatch, checked)
    assert problems == []
    ours = {op for op in fresh_ops() if op.__module__.startswith("tinyae.")}
    assert ours <= checked, f"fresh ops no spec exercises: {sorted(op.__name__ for op in ours - checked)}"


def draw_inputs_fixed(spec: OpSpec) -> list[np.ndarray]:
    """One draw of ``spec``'s inputs from a fixed seed (hypothesis' ``find`` with a constant example)."""
    drawn: list[list[np.ndarray]] = []

    @settings(max_examples=1, database=None, derandomize=True)
    @given(data=st.data())
    def draw(data: st.DataObject) -> None:
        drawn.append(draw_inputs(data, spec))

    draw()
    return drawn[0]


@pytest.mark.parametrize("name", FUNCTIONAL_MODULES)
def test_functional_modules_have_running_examples(name: str) -> None:
    doctest_examples(importlib.import_module(name))


# --- each check fails on a deliberately broken op -----------------------------------------------------------


class AliasingScale(Function):
    """``y = 2 x`` whose backward wrongly returns ``grad`` itself while claiming fresh gradients."""

    fresh_gradients = True

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        return 2 * x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad  # wrong twice: the slope is 2, and grad is not a fresh array


class NaiveSoftplus(Function):
    """``log(1 + e^x)`` written naively: e^x overflows from x = 89 (float32)."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save(x)
        return ctx.xp.log(1 + ctx.xp.exp(x))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved
        return grad / (1 + ctx.xp.exp(-x))


def naive_softplus(x: tinyae.Tensor) -> tinyae.Tensor:
    """Softplus, badly."""
    return NaiveSoftplus.apply(x)


def test_missing_spec_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(F, "naive_softplus", naive_softplus, raising=False)
    monkeypatch.setattr(F, "__all__", [*F.__all__, "naive_softplus"])
    assert missing_specs(public_ops(), SPECS) == ["naive_softplus"]
    assert missing_extremes(public_ops(), SPECS, EXTREME_INPUTS) == ["naive_softplus"]


def test_non_finite_value_on_extreme_input_is_caught() -> None:
    spec = OpSpec("naive_softplus", naive_softplus, lambda x: np.logaddexp(0, x), same(1), (Domain(),))
    problems = extreme_problems(spec, ([-100.0, 1e30],), "float32")
    assert any("value" in p and "not finite" in p for p in problems), problems
    assert any("overflow" in p for p in problems), problems
    assert extreme_problems(SPECS_BY_NAME["softplus"], ([-100.0, 1e30],), "float32") == []


def test_aliased_fresh_gradient_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = OpSpec("aliasing", lambda x: AliasingScale.apply(x), lambda x: 2 * x, same(1), (Domain(),))
    checked: set[type[Function]] = set()
    with tinyae.use_backend("numpy"):
        problems = fresh_violations(spec, [np.ones((2, 3))], monkeypatch, checked)
    assert problems == ["AliasingScale: gradient 0 shares memory with grad"]
    assert checked == {AliasingScale}


def test_fresh_gradient_returning_a_saved_array_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # sigmoid saves e = exp(-|x|); a backward returning it (as fresh) would let the driver add into it
    from tinyae.functional.activations import Sigmoid

    monkeypatch.setattr(Sigmoid, "fresh_gradients", True)
    monkeypatch.setattr(Sigmoid, "backward", staticmethod(lambda ctx, grad: ctx.saved[0]))
    with tinyae.use_backend("numpy"):
        problems = fresh_violations(SPECS_BY_NAME["sigmoid"], [np.ones((2, 2))], monkeypatch, set())
    assert problems == ["Sigmoid: gradient 0 shares memory with saved array 0"]


def test_module_without_examples_is_caught() -> None:
    bare = types.ModuleType("bare", "A module whose docstrings show no example.")
    bare.__dict__["op"] = naive_softplus
    with pytest.raises(AssertionError, match="bare has no docstring examples"):
        doctest_examples(bare)


SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


def test_adding_an_op_section_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """The code blocks of the last section of docs/autograd.md ("Adding an op") run, in order."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "autograd.md").read_text()
    section = text.split("\n## Adding an op\n", 1)[1]
    assert "\n## " not in section, "'Adding an op' must stay the last section of docs/autograd.md"
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    namespace: dict[str, Any] = {"__name__": "adding_an_op"}
    for block in blocks:
        exec(compile(block, "docs/autograd.md", "exec"), namespace)
    assert capsys.readouterr().out.split() == ["[-1.e+00", "-1.e+00", "1.e+30]"]
