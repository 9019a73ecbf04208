"""Layers: Linear's initialisers and forward, BatchNorm1d's running averages and modes, activation modules,
and gradient checks of whole module forwards in float64."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

import tinyae
from tinyae import functional, nn


def module_gradcheck(module: nn.Module, x: tinyae.Tensor) -> bool:
    """Gradient-check ``module(x)`` with respect to ``x`` and every parameter of ``module``.

    gradcheck hands ``fn`` perturbed copies of its inputs; the copies' values are put into the module's
    parameters for the duration of one call (the analytic pass gets the parameters themselves).
    """
    params = list(module.parameters())

    def fn(x: tinyae.Tensor, *values: tinyae.Tensor) -> tinyae.Tensor:
        saved = [p.data for p in params]
        for p, value in zip(params, values, strict=True):
            p.data = value.data
        try:
            return module(x)
        finally:
            for p, data in zip(params, saved, strict=True):
                p.data = data

    return tinyae.gradcheck(fn, [x, *params])


# --- Linear -------------------------------------------------------------------------------------------------

FAN_IN, FAN_OUT = 400, 200


def weights(init: str | Callable[..., np.ndarray], seed: int = 0) -> np.ndarray:
    tinyae.manual_seed(seed)
    return nn.Linear(FAN_IN, FAN_OUT, init=init).weight.numpy().astype(np.float64)


def test_xavier_uniform_statistics() -> None:
    w = weights("xavier_uniform")
    limit = math.sqrt(6 / (FAN_IN + FAN_OUT))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # 80,000 draws reach the edges
    assert abs(w.mean()) < 0.01 * limit
    assert w.var() == pytest.approx(limit**2 / 3, rel=0.03)  # uniform on [-a, a]: variance a^2 / 3
    np.testing.assert_array_equal(w, weights("glorot_uniform"))


def test_he_normal_statistics() -> None:
    w = weights("he_normal")
    assert w.std() == pytest.approx(math.sqrt(2 / FAN_IN), rel=0.02)
    assert abs(w.mean()) < 0.01 * w.std()
    assert abs(np.mean((w / w.std()) ** 4) - 3) < 0.1  # kurtosis of a normal
    np.testing.assert_array_equal(w, weights("kaiming_normal"))


@pytest.mark.parametrize("std", [0.01, 0.5])
def test_normal_statistics(std: float) -> None:
    w = weights(lambda shape: nn.init.normal(shape, std=std))
    assert w.std() == pytest.approx(std, rel=0.02)
    if std == 0.01:
        np.testing.assert_array_equal(w, weights("normal"))


def test_same_seed_gives_the_same_weights_on_every_backend() -> None:
    def build(name: str) -> nn.Linear:
        tinyae.manual_seed(123)
        return nn.Linear(5, 4, backend=name)

    on_numpy, on_strict = build("numpy"), build("strict")
    assert on_strict.weight.backend.name == "strict"
    np.testing.assert_array_equal(on_numpy.weight.numpy(), on_strict.weight.numpy())
    tinyae.manual_seed(124)
    assert not np.array_equal(nn.Linear(5, 4).weight.numpy(), on_numpy.weight.numpy())


def test_linear_forward_dtype_and_bias(backend: tinyae.Backend) -> None:
    layer = nn.Linear(3, 2, dtype="float64")
    assert layer.weight.shape == (3, 2) and layer.bias is not None and layer.bias.shape == (2,)
    assert layer.weight.backend is backend and str(layer.weight.dtype).endswith("float64")
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(2))
    x = np.arange(6.0).reshape(2, 3)
    layer.bias.data += 0.5
    expected = x @ layer.weight.numpy() + 0.5
    np.testing.assert_allclose(layer(tinyae.tensor(x, dtype="float64")).numpy(), expected, rtol=1e-12)
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_refuses_bad_settings() -> None:
    with pytest.raises(ValueError, match="unknown initialiser 'glorot'"):
        nn.Linear(2, 2, init="glorot")
    with pytest.raises(ValueError, match=r"returned shape \(2,\), expected \(2, 3\)"):
        nn.Linear(2, 3, init=lambda shape: np.zeros(2))
    with pytest.raises(ValueError, match="positive sizes"):
        nn.Linear(0, 3)


def test_truncated_normal_redraws_beyond_two_std(backend: tinyae.Backend) -> None:
    w = weights("truncated_normal:0.1")
    assert np.abs(w).max() <= 0.2 + 1e-7  # float32 rounding of a value just inside 2 std
    assert np.abs(w).max() > 0.199  # 80,000 draws reach the cut
    # N(0, s^2) cut at +-2s: variance s^2 (1 - 4 phi(2) / (Phi(2) - Phi(-2))) = 0.7737 s^2
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    assert w.var() == pytest.approx(0.01 * (1 - 4 * phi2 / mass), rel=0.03)
    assert abs(w.mean()) < 0.002
    np.testing.assert_array_equal(w, weights(lambda shape: nn.init.truncated_normal(shape, std=0.1)))


def test_standard_normal_by_name_is_tf_random_normal() -> None:
    w = weights("normal:1")
    assert w.std() == pytest.approx(1.0, rel=0.02) and abs(w.mean()) < 0.01
    np.testing.assert_array_equal(w, weights(lambda shape: nn.init.normal(shape, std=1.0)))


def test_sigmoid_uniform_is_four_times_glorot() -> None:
    w = weights("sigmoid_uniform")
    limit = 4 * math.sqrt(6 / (FAN_IN + FAN_OUT))  # the Deep Learning Tutorial's range: 0.4 for 400 + 200
    assert limit == pytest.approx(0.4)
    assert 0.99 * limit < np.abs(w).max() <= limit
    np.testing.assert_allclose(w, 4 * weights("xavier_uniform"), rtol=1e-6)


def test_bias_init_by_name_and_function(backend: tinyae.Backend) -> None:
    tinyae.manual_seed(3)
    plain = nn.Linear(3, 2)
    assert plain.bias is not None
    np.testing.assert_array_equal(plain.bias.numpy(), np.zeros(2))
    layer = nn.Linear(3, 2, bias_init=lambda shape: np.full(shape, 0.25), dtype="float64")
    assert layer.bias is not None and layer.bias.backend is backend
    np.testing.assert_array_equal(layer.bias.numpy(), [0.25, 0.25])
    # a bias drawn after its weight: the weight is the same as with zero biases under one seed
    tinyae.manual_seed(3)
    drawn = nn.Linear(3, 2, bias_init="normal:1")
    np.testing.assert_array_equal(drawn.weight.numpy(), plain.weight.numpy())
    assert drawn.bias is not None and np.all(drawn.bias.numpy() != 0)
    # He normal of a bias (n,): TensorFlow's fans of a 1-D shape are (n, n), so std sqrt(2 / n)
    tinyae.manual_seed(4)
    he = nn.Linear(2, 20_000, init="he_normal", bias_init="he_normal", dtype="float64")
    assert he.bias is not None
    assert he.bias.numpy().std() == pytest.approx(math.sqrt(2 / 20_000), rel=0.03)


def test_bias_init_same_on_numpy_and_strict() -> None:
    def build(name: str) -> np.ndarray:
        tinyae.manual_seed(9)
        layer = nn.Linear(4, 3, init="truncated_normal:0.1", bias_init="truncated_normal:0.1", backend=name)
        assert layer.bias is not None
        return np.concatenate([layer.weight.numpy().ravel(), layer.bias.numpy()])

    np.testing.assert_array_equal(build("numpy"), build("strict"))


def test_initialiser_names_refused_clearly() -> None:
    with pytest.raises(ValueError, match=r"only .* take a std"):
        nn.Linear(2, 2, init="he_normal:2")
    with pytest.raises(ValueError, match=r"'x' after ':' is not a number"):
        nn.Linear(2, 2, init="normal:x")
    with pytest.raises(ValueError, match="needs std >= 0"):
        nn.Linear(2, 2, init="truncated_normal:-1")
    with pytest.raises(ValueError, match=r"bias initialiser .* returned shape \(3,\), expected \(2,\)"):
        nn.Linear(2, 2, bias_init=lambda shape: np.zeros(3))
    with pytest.raises(ValueError, match="unknown initialiser 'ones'"):
        nn.Linear(2, 2, bias_init="ones")


# --- BatchNorm1d --------------------------------------------------------------------------------------------


def test_batchnorm_running_averages_in_train_mode(backend: tinyae.Backend) -> None:
    momentum = 0.3
    bn = nn.BatchNorm1d(3, momentum=momentum, dtype="float64")
    rng = np.random.default_rng(0)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(2.0, 3.0, size=(6, 3))
        out = bn(tinyae.tensor(x, dtype="float64"))
        mean = (1 - momentum) * mean + momentum * x.mean(axis=0)
        var = (1 - momentum) * var + momentum * x.var(axis=0, ddof=1)  # unbiased, as PyTorch
        np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-12)
        np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-12)
        # the output uses the batch's own (biased) statistics
        expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + bn.eps)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)
    assert bn.running_mean.backend is backend and not bn.running_mean.requires_grad


def test_batchnorm_biased_running_var_worked_by_hand(backend: tinyae.Backend) -> None:
    # x = [1, 3]: mean 2, variance 1 over n (tf.nn.moments), 2 over n - 1 (PyTorch)
    x = tinyae.tensor([[1.0], [3.0]], dtype="float64")
    tf_style = nn.BatchNorm1d(1, eps=1e-3, momentum=0.1, unbiased_running_var=False, dtype="float64")
    out = tf_style(x)
    np.testing.assert_allclose(out.numpy(), [[-1 / math.sqrt(1.001)], [1 / math.sqrt(1.001)]], rtol=1e-12)
    np.testing.assert_allclose(tf_style.running_mean.numpy(), [0.2], rtol=1e-12)  # 0.9 * 0 + 0.1 * 2
    np.testing.assert_allclose(tf_style.running_var.numpy(), [1.0], rtol=1e-12)  # 0.9 * 1 + 0.1 * 1
    torch_style = nn.BatchNorm1d(1, eps=1e-3, momentum=0.1, dtype="float64")
    torch_style(x)
    np.testing.assert_allclose(torch_style.running_var.numpy(), [1.1], rtol=1e-12)  # 0.9 * 1 + 0.1 * 2
    assert "unbiased_running_var=False" in repr(tf_style)


def test_batchnorm_biased_running_var_over_steps(backend: tinyae.Backend) -> None:
    decay = 0.99  # tf.train.ExponentialMovingAverage(decay): momentum = 1 - decay
    bn = nn.BatchNorm1d(3, momentum=1 - decay, eps=1e-3, unbiased_running_var=False)  # float32
    rng = np.random.default_rng(1)
    var = np.ones(3)
    for _ in range(4):
        x = rng.normal(1.0, 2.0, size=(8, 3)).astype(np.float32)
        bn(tinyae.tensor(x))
        var = decay * var + (1 - decay) * x.astype(np.float64).var(axis=0)
        np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-5)
    assert str(bn.running_var.dtype).endswith("float32")


def test_batchnorm_eval_uses_and_keeps_running_averages(backend: tinyae.Backend) -> None:
    bn = nn.BatchNorm1d(2, dtype="float64")
    bn.load_state_dict(
        {"weight": [2.0, 0.5], "bias": [1.0, -1.0], "running_mean": [1.0, -2.0], "running_var": [4.0, 0.25]}
    )
    bn.eval()
    x = np.array([[3.0, -1.0], [0.0, 0.0], [1.0, 5.0]])
    out = bn(tinyae.tensor(x, dtype="float64")).numpy()
    expected = (x - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5) * [2.0, 0.5] + [1.0, -1.0]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean.numpy(), [1.0, -2.0])
    np.testing.assert_array_equal(bn.running_var.numpy(), [4.0, 0.25])
    bn(tinyae.tensor(x[:1], dtype="float64"))  # a single sample is fine in eval mode


def test_batchnorm_updates_running_averages_outside_the_graph() -> None:
    bn = nn.BatchNorm1d(2)
    x = tinyae.tensor([[1.0, 2.0], [3.0, 5.0]], requires_grad=True)
    with tinyae.no_grad():
        bn(x)  # still training mode: the averages move even without a graph
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.2, 0.35], rtol=1e-6)
    out = bn(x)
    assert out.requires_grad and bn.running_mean.node is None and not bn.running_var.requires_grad


def test_batchnorm_refuses_bad_input() -> None:
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"shape \(batch, 3\), got \(4, 2\)"):
        bn(tinyae.tensor(np.zeros((4, 2))))
    with pytest.raises(TypeError, match="float32 statistics but got float64 input"):
        bn(tinyae.tensor(np.zeros((4, 3)), dtype="float64"))
    with pytest.raises(ValueError, match="momentum"):
        nn.BatchNorm1d(3, momentum=1.5)


def test_batchnorm_without_affine_has_only_buffers() -> None:
    bn = nn.BatchNorm1d(2, affine=False)
    assert list(bn.parameters()) == []
    assert list(bn.state_dict()) == ["running_mean", "running_var"]
    assert repr(bn) == "BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=False)"


# --- activations and gradient checks ------------------------------------------------------------------------

ACTIVATIONS = [
    (nn.Sigmoid(), functional.sigmoid),
    (nn.Tanh(), functional.tanh),
    (nn.ReLU(), functional.relu),
    (nn.Softplus(), functional.softplus),
    (nn.LeakyReLU(0.2), lambda x: functional.leaky_relu(x, 0.2)),
    (nn.Identity(), lambda x: x),
]


@pytest.mark.parametrize(("module", "function"), ACTIVATIONS, ids=lambda v: type(v).__name__)
def test_activation_modules_apply_their_function(
    module: nn.Module, function: Callable[[tinyae.Tensor], tinyae.Tensor], backend: tinyae.Backend
) -> None:
    x = tinyae.tensor([[-2.0, -0.5, 0.5, 3.0]])
    np.testing.assert_array_equal(module(x).numpy(), function(x).numpy())
    assert list(module.parameters()) == []


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_gradcheck_of_a_module_forward(training: bool, backend: tinyae.Backend) -> None:
    tinyae.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(3, 4, dtype="float64"),
        nn.BatchNorm1d(4, dtype="float64"),
        nn.Softplus(),
        nn.Linear(4, 2, init="he_normal", dtype="float64"),
        nn.Tanh(),
    )
    x = tinyae.tensor(np.random.default_rng(2).standard_normal((5, 3)), dtype="float64", requires_grad=True)
    model(x)  # move the running averages away from (0, 1) before checking eval mode
    model.train(training)
    assert module_gradcheck(model, x)
    assert all(p.grad is None for p in model.parameters())  # gradcheck restores the gradients it found


def test_module_gradcheck_catches_a_wrong_parameter_gradient() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter([[1.5, -0.5]], dtype="float64")

        def forward(self, x: tinyae.Tensor) -> tinyae.Tensor:
            # the value is x * scale, but the graph sees scale only through a detached copy plus a
            # term whose gradient is wrong: d/dscale (scale * 0) = 0 instead of x
            return x * self.scale.detach() + 0.0 * self.scale

    x = tinyae.tensor([[1.0, 2.0]], dtype="float64", requires_grad=True)
    with pytest.raises(tinyae.GradcheckError, match="input 1"):
        module_gradcheck(Broken(), x)
