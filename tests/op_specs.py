"""Every op and loss, stated once: how to call it, a NumPy reference, and where its inputs may be drawn.

``tests/test_ops.py`` runs each spec for forward-vs-reference, gradient check, dtype preservation and
"no graph under no_grad", on every backend; ``tests/test_op_checklist.py`` checks that every public name
of ``tinyae.functional`` has a spec here and extreme inputs in ``EXTREME_INPUTS``.  Domains keep inputs a
margin away from kinks (relu at 0) and inside the domain of logs and square roots; the kink conventions
themselves are tested by explicit cases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinyae
import tinyae.functional as F
from tinyae.backend import RandomGenerator


@dataclass(frozen=True)
class Domain:
    """Where one input's values come from: floats in [low, high] kept ``margin`` away from ``kinks``,
    or (``labels=True``) integer class labels for the classes counted by input 0's last axis."""

    low: float = -3.0
    high: float = 3.0
    kinks: tuple[float, ...] = ()
    margin: float = 0.05
    grad: bool = True
    labels: bool = False


@dataclass(frozen=True)
class OpSpec:
    name: str
    call: Callable[..., tinyae.Tensor]
    reference: Callable[..., np.ndarray]
    shapes: st.SearchStrategy[tuple[tuple[int, ...], ...]]
    domains: tuple[Domain, ...]
    prepare: Callable[[list[np.ndarray]], list[np.ndarray]] = field(default=lambda arrays: arrays)
    rtol: float = 1e-7
    atol: float = 1e-9
    noise: bool = False  # draws random numbers: float32 and float64 runs see different noise

    def __str__(self) -> str:
        return self.name


def draw_inputs(data: st.DataObject, spec: OpSpec) -> list[np.ndarray]:
    """Draw float64 (or int64 label) host arrays for every input of ``spec``."""
    shapes = data.draw(spec.shapes, label="shapes")
    arrays = []
    for shape, domain in zip(shapes, spec.domains, strict=True):
        if domain.labels:
            classes = shapes[0][-1]
            arrays.append(
                data.draw(hnp.arrays(np.int64, shape, elements=st.integers(0, classes - 1)), label="labels")
            )
            continue
        values = data.draw(
            hnp.arrays(
                np.float64,
                shape,
                elements=st.floats(domain.low, domain.high, allow_nan=False, allow_infinity=False),
            ),
            label="values",
        )
        arrays.append(_off_kinks(values, domain))
    return spec.prepare(arrays)


def _off_kinks(values: np.ndarray, domain: Domain) -> np.ndarray:
    for kink in domain.kinks:
        near = np.abs(values - kink) < domain.margin
        side = np.where(values >= kink, 1.0, -1.0)
        values = np.where(near, kink + side * domain.margin * 2, values)
    return values


# --- shape strategies ---------------------------------------------------------------------------------------

side = st.integers(1, 4)


def same(count: int, min_dims: int = 1, max_dims: int = 3) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``count`` inputs of one shape."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, max_side=4).map(lambda s: (s,) * count)


def broadcastable(count: int) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """``count`` shapes that broadcast together (some axes 1 or missing)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=count, min_dims=0, max_dims=3, max_side=4).map(
        lambda b: b.input_shapes
    )


matrices = st.tuples(side, side).map(lambda s: (s,))
batch_features = st.tuples(st.integers(3, 5), side).map(lambda s: (s,))
linear_shapes = st.tuples(side, side, side).map(lambda s: ((s[0], s[1]), (s[1], s[2]), (s[2],)))
matmul_shapes = st.one_of(
    st.tuples(side, side, side).map(lambda s: ((s[0], s[1]), (s[1], s[2]))),
    st.tuples(side, side, side, side).map(lambda s: ((s[3], s[0], s[1]), (s[1], s[2]))),
)
norm_shapes = st.tuples(st.integers(3, 5), side).map(lambda s: (s, (s[1],), (s[1],), (s[1],), (s[1],)))
label_shapes = st.tuples(side, st.integers(2, 4)).map(lambda s: (s, (s[0],)))


# --- NumPy references (float64) -----------------------------------------------------------------------------


def np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * x))


def np_log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def np_batch_norm(x, gamma, beta, mean, var, training, eps=1e-5):
    if training:
        mean, var = x.mean(axis=0), x.var(axis=0)
    return gamma * (x - mean) / np.sqrt(var + eps) + beta


def spread_rows(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Give a batch a clear spread per feature, so that its variance is not near 0 (an ill-posed check)."""
    x = arrays[0]
    return [x + np.arange(x.shape[0])[:, None], *arrays[1:]]


def noise_rng(seed: int = 7) -> RandomGenerator:
    """A fresh generator with a fixed seed: noise ops then draw the same noise on every call."""
    return RandomGenerator(tinyae.get_backend(), seed)


def host_noise(kind: str, shape: tuple[int, ...], seed: int = 7) -> np.ndarray:
    backend = tinyae.get_backend()
    rng = RandomGenerator(backend, seed)
    sample = rng.uniform(shape, "float64") if kind == "uniform" else rng.normal(shape, "float64")
    return backend.to_numpy(sample)


POSITIVE = Domain(0.2, 4.0)
PROBABILITY = Domain(0.05, 0.95)
FIXED = Domain(grad=False)
LOG_VAR = Domain(-2.0, 2.0)

SPECS: list[OpSpec] = [
    # arithmetic primitives (Tensor operators), with broadcasting
    OpSpec("add", lambda a, b: a + b, np.add, broadcastable(2), (Domain(), Domain())),
    OpSpec("sub", lambda a, b: a - b, np.subtract, broadcastable(2), (Domain(), Domain())),
    OpSpec("mul", lambda a, b: a * b, np.multiply, broadcastable(2), (Domain(), Domain())),
    OpSpec("div", lambda a, b: a / b, np.divide, broadcastable(2), (Domain(), POSITIVE)),
    OpSpec("neg", lambda a: -a, np.negative, same(1), (Domain(),)),
    OpSpec("pow", lambda a: a**2.5, lambda a: a**2.5, same(1), (POSITIVE,)),
    OpSpec(
        "scalar_mix", lambda a: 2.0 * a - 1 / (a + 5.0), lambda a: 2 * a - 1 / (a + 5), same(1), (Domain(),)
    ),
    OpSpec("matmul", lambda a, b: a @ b, np.matmul, matmul_shapes, (Domain(), Domain())),
    OpSpec("transpose", lambda a: a.T, lambda a: a.T, matrices, (Domain(),)),
    OpSpec("sum", lambda a: a.sum(), np.sum, same(1), (Domain(),)),
    OpSpec("sum_axis", lambda a: a.sum(axis=0), lambda a: a.sum(axis=0), same(1), (Domain(),)),
    OpSpec(
        "mean_keepdims",
        lambda a: a.mean(axis=-1, keepdims=True),
        lambda a: a.mean(-1, keepdims=True),
        same(1),
        (Domain(),),
    ),
    OpSpec("mean", lambda a: a.mean(), np.mean, same(1), (Domain(),)),
    OpSpec("reshape", lambda a: a.reshape(-1), lambda a: a.reshape(-1), same(1), (Domain(),)),
    # functional: dense layer and elementary functions
    OpSpec("linear", F.linear, lambda x, w, b: x @ w + b, linear_shapes, (Domain(), Domain(), Domain())),
    OpSpec(
        "linear_tied",  # F.linear(h, W.T, c): the weight through the Transpose op
        lambda x, w, b: F.linear(x, w.T, b),
        lambda x, w, b: x @ w.T + b,
        linear_shapes.map(lambda s: (s[0], s[1][::-1], s[2])),
        (Domain(), Domain(), Domain()),
    ),
    OpSpec(
        "linear_transpose_weight",  # a tied decoder as models write it: W (out, in) used as W^T
        lambda x, w, b: F.linear(x, w, b, transpose_weight=True),
        lambda x, w, b: x @ w.T + b,
        linear_shapes.map(lambda s: (s[0], s[1][::-1], s[2])),
        (Domain(), Domain(), Domain()),
    ),
    OpSpec(
        "linear_nobias",
        lambda x, w: F.linear(x, w),
        np.matmul,
        linear_shapes.map(lambda s: s[:2]),
        (Domain(), Domain()),
    ),
    OpSpec("exp", F.exp, np.exp, same(1), (Domain(),)),
    OpSpec("log", F.log, np.log, same(1), (POSITIVE,)),
    OpSpec("sqrt", F.sqrt, np.sqrt, same(1), (POSITIVE,)),
    OpSpec("square", F.square, np.square, same(1), (Domain(),)),
    # activations
    OpSpec("sigmoid", F.sigmoid, np_sigmoid, same(1), (Domain(-8, 8),)),
    OpSpec("tanh", F.tanh, np.tanh, same(1), (Domain(),)),
    OpSpec("relu", F.relu, lambda x: np.maximum(x, 0), same(1), (Domain(kinks=(0.0,)),)),
    OpSpec(
        "leaky_relu",
        lambda x: F.leaky_relu(x, 0.2),
        lambda x: np.where(x > 0, x, 0.2 * x),
        same(1),
        (Domain(kinks=(0.0,)),),
    ),
    OpSpec("softplus", F.softplus, lambda x: np.log1p(np.exp(x)), same(1), (Domain(-8, 8),)),
    OpSpec("log_sigmoid", F.log_sigmoid, lambda x: -np.log1p(np.exp(-x)), same(1), (Domain(-8, 8),)),
    OpSpec("log_softmax", F.log_softmax, np_log_softmax, same(1, 1, 2), (Domain(),)),
    OpSpec(
        "log_softmax_axis0",
        lambda x: F.log_softmax(x, axis=0),
        lambda x: np_log_softmax(x, 0),
        matrices,
        (Domain(),),
    ),
    OpSpec("softmax", F.softmax, lambda x: np.exp(np_log_softmax(x)), same(1, 1, 2), (Domain(),)),
    # batch norm, both modes (running statistics are inputs without gradients)
    OpSpec(
        "batch_norm_train",
        lambda x, g, b, m, v: F.batch_norm(x, g, b, m, v, training=True).output,
        lambda x, g, b, m, v: np_batch_norm(x, g, b, m, v, True),
        norm_shapes,
        (Domain(), Domain(), Domain(), FIXED, Domain(0.5, 2.0, grad=False)),
        prepare=spread_rows,
        rtol=1e-6,
        atol=1e-8,
    ),
    OpSpec(
        "batch_norm_eval",
        lambda x, g, b, m, v: F.batch_norm(x, g, b, m, v, training=False).output,
        lambda x, g, b, m, v: np_batch_norm(x, g, b, m, v, False),
        norm_shapes,
        (Domain(), Domain(), Domain(), FIXED, Domain(0.5, 2.0, grad=False)),
    ),
    # noise (fixed by a fresh seeded generator per call)
    OpSpec(
        "reparameterize",
        F.reparameterize,
        lambda m, v, e: m + np.exp(0.5 * v) * e,
        same(3),
        (Domain(), LOG_VAR, Domain()),
    ),
    OpSpec(
        "masking_noise",
        lambda x: F.masking_noise(x, 0.3, rng=noise_rng()),
        lambda x: x * (host_noise("uniform", x.shape) >= 0.3),
        same(1),
        (Domain(),),
        noise=True,
    ),
    OpSpec(
        "gaussian_noise",
        lambda x: F.gaussian_noise(x, 0.5, rng=noise_rng()),
        lambda x: x + 0.5 * host_noise("normal", x.shape),
        same(1),
        (Domain(),),
        noise=True,
    ),
    OpSpec(
        "dropout",
        lambda x: F.dropout(x, 0.25, rng=noise_rng()),
        lambda x: x * (host_noise("uniform", x.shape) >= 0.25) / 0.75,
        same(1),
        (Domain(),),
        noise=True,
    ),
    # losses
    OpSpec("mse_loss", F.mse_loss, lambda a, b: np.mean((a - b) ** 2), same(2), (Domain(), Domain())),
    OpSpec(
        "mse_loss_sum",
        lambda a, b: F.mse_loss(a, b, reduction="sum"),
        lambda a, b: np.sum((a - b) ** 2),
        same(2),
        (Domain(), Domain()),
    ),
    OpSpec(
        "mse_loss_none",
        lambda a, b: F.mse_loss(a, b, reduction="none"),
        lambda a, b: (a - b) ** 2,
        same(2),
        (Domain(), Domain()),
    ),
    OpSpec("l2_loss", F.l2_loss, lambda x: 0.5 * np.sum(x**2), same(1), (Domain(),)),
    OpSpec(
        "binary_cross_entropy",
        F.binary_cross_entropy,
        lambda p, y: np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))),
        same(2),
        (PROBABILITY, PROBABILITY),
    ),
    OpSpec(
        "binary_cross_entropy_none",
        lambda p, y: F.binary_cross_entropy(p, y, reduction="none"),
        lambda p, y: -(y * np.log(p) + (1 - y) * np.log(1 - p)),
        same(2),
        (PROBABILITY, PROBABILITY),
    ),
    OpSpec(
        "bce_with_logits",
        F.binary_cross_entropy_with_logits,
        lambda x, y: np.mean(-(y * np.log(np_sigmoid(x)) + (1 - y) * np.log(1 - np_sigmoid(x)))),
        same(2),
        (Domain(-6, 6), PROBABILITY),
        rtol=1e-6,
    ),
    OpSpec(
        "bce_with_logits_sum",
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="sum"),
        lambda x, y: np.sum(-(y * np.log(np_sigmoid(x)) + (1 - y) * np.log(1 - np_sigmoid(x)))),
        same(2),
        (Domain(-6, 6), PROBABILITY),
        rtol=1e-6,
    ),
    OpSpec(
        "gaussian_kl",
        F.gaussian_kl,
        lambda m, v: np.mean(-0.5 * np.sum(1 + v - m**2 - np.exp(v), axis=-1)),
        same(2, 2, 2),
        (Domain(), LOG_VAR),
    ),
    OpSpec(
        "gaussian_kl_none",
        lambda m, v: F.gaussian_kl(m, v, reduction="none"),
        lambda m, v: -0.5 * np.sum(1 + v - m**2 - np.exp(v), axis=-1),
        same(2, 2, 2),
        (Domain(), LOG_VAR),
    ),
    OpSpec(
        "kl_sparsity",
        lambda q: F.kl_sparsity(q, 0.1),
        lambda q: np.sum(0.1 * np.log(0.1 / q) + 0.9 * np.log(0.9 / (1 - q))),
        same(1, 1, 1),
        (PROBABILITY,),
    ),
    OpSpec(
        "cross_entropy",
        F.cross_entropy,
        lambda x, y: -np.mean(np_log_softmax(x)[np.arange(len(y)), y]),
        label_shapes,
        (Domain(), Domain(grad=False, labels=True)),
    ),
    OpSpec(
        "cross_entropy_none",
        lambda x, y: F.cross_entropy(x, y, reduction="none"),
        lambda x, y: -np_log_softmax(x)[np.arange(len(y)), y],
        label_shapes,
        (Domain(), Domain(grad=False, labels=True)),
    ),
]

SPEC_IDS = [spec.name for spec in SPECS]


def as_tensors(arrays: list[np.ndarray], spec: OpSpec, dtype: str) -> list[tinyae.Tensor]:
    """Tensors on the current default backend; float inputs in ``dtype``, gradients where the spec says."""
    tensors = []
    for array, domain in zip(arrays, spec.domains, strict=True):
        if domain.labels:
            tensors.append(tinyae.tensor(array))
        else:
            tensors.append(tinyae.tensor(array, dtype=dtype, requires_grad=domain.grad))
    return tensors


def reference_output(spec: OpSpec, arrays: list[np.ndarray]) -> Any:
    return np.asarray(spec.reference(*arrays), dtype=np.float64)


# --- the checklist: which public name each spec exercises, and extreme inputs -----------------------------

# specs whose name is not ``<public name>`` or ``<public name>_<variant>``
COVERS = {
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "bce_with_logits_sum": "binary_cross_entropy_with_logits",
}

INF = float("inf")
HUGE = 1e30  # finite in float32 and float64, and its square overflows both

# Inputs (one value per input of the spec, in order) where the op's value and gradient are finite in
# float32 and in float64 although a naive formula overflows, divides by 0 or takes log 0 there.  Every
# public name of ``tinyae.functional`` needs at least one spec listed here (test_op_checklist.py).
EXTREME_INPUTS: dict[str, list[tuple[Any, ...]]] = {
    "linear": [([[1e15, -1e15]], [[1e15], [1e15]], [1e15])],
    "matmul": [([[1e15, -1e15]], [[1e15], [1e15]])],
    "exp": [([-INF, -HUGE, -100.0, 80.0],)],
    "log": [([1e-30, 1e30],)],
    "sqrt": [([1e-30, 1e30],)],
    "square": [([1e15, -1e15],)],
    "sigmoid": [([-INF, -HUGE, -100.0, -88.8, 0.0, 88.8, 100.0, HUGE, INF],)],
    "tanh": [([-INF, -HUGE, -100.0, 100.0, HUGE, INF],)],
    "relu": [([-INF, -HUGE, HUGE],)],
    "leaky_relu": [([-HUGE, HUGE],)],
    "softplus": [([-INF, -HUGE, -100.0, 100.0, HUGE],)],
    "log_sigmoid": [([-HUGE, -100.0, 100.0, HUGE, INF],)],
    "log_softmax": [([[HUGE, -HUGE, 0.0], [-100.0, 100.0, 0.0]],)],
    "softmax": [([[HUGE, -HUGE, 0.0], [-100.0, 100.0, 0.0], [-INF, 0.0, 1.0], [INF, 0.0, 1.0]],)],
    "batch_norm_train": [
        ([[1e20, -3e20], [2e20, 1e20], [4e20, 2e20]], [1.0, 2.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]),
        ([[1e-30, 5.0], [-1e-30, 5.0], [0.0, 5.0]], [1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [1.0, 1.0]),
    ],
    "batch_norm_eval": [([[1e20, -1e20]], [1.0, 1.0], [0.0, 0.0], [1e20, 0.0], [1e30, 1.0])],
    "reparameterize": [([HUGE, 0.0], [-HUGE, 80.0], [1.0, -1.0])],
    "masking_noise": [([HUGE, -HUGE, 1.0, 2.0],)],
    "gaussian_noise": [([HUGE, -HUGE],)],
    "dropout": [([HUGE, -HUGE, 1.0, 2.0],)],
    "mse_loss": [([1e15, -1e15], [-1e15, 1e15])],
    "l2_loss": [([1e15, -1e15],)],
    "binary_cross_entropy": [([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5], [1.0, 0.0, 0.0, 1.0, 0.5, 1.0])],
    "bce_with_logits": [([-HUGE, -100.0, 100.0, HUGE], [1.0, 0.0, 1.0, 0.0])],
    "gaussian_kl": [([[0.0, 1e10, 1.0]], [[88.0, -HUGE, -100.0]])],
    "kl_sparsity": [([0.0, 1.0, 1e-30],)],
    "cross_entropy": [([[HUGE, -HUGE, 0.0], [-100.0, 100.0, 0.0]], [0, 2])],
}


def public_name(spec: OpSpec) -> str | None:
    """The ``tinyae.functional`` name a spec exercises (None for the Tensor operators)."""
    if spec.name in COVERS:
        return COVERS[spec.name]
    public = set(F.__all__)
    parts = spec.name.split("_")
    for end in range(len(parts), 0, -1):
        candidate = "_".join(parts[:end])
        if candidate in public:
            return candidate
    return None
