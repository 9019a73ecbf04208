"""The model protocol: registry and config rebuilds, tied weights, shared layers of the stacked model and
its classifier, modes, shapes, input handling and error messages."""

from __future__ import annotations

import doctest
import importlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinyae
from tinyae import models, nn, optim
from tinyae.backend import RandomGenerator

FACTORIES: dict[str, Callable[[], Any]] = {
    "Autoencoder": lambda: models.Autoencoder([8, 6, 3], activation="relu", loss="l2"),
    "Autoencoder-bn": lambda: models.Autoencoder([8, 6, 3], activation="softplus", batch_norm=True),
    "Autoencoder-tied": lambda: models.Autoencoder([8, 6, 3], tied=True, loss="bce"),
    "TiedAutoencoder": lambda: models.TiedAutoencoder([8, 5], activation="sigmoid", loss="bce"),
    "DenoisingAutoencoder": lambda: models.DenoisingAutoencoder([8, 5], noise="gaussian", noise_level=0.2),
    "SparseAutoencoder": lambda: models.SparseAutoencoder([8, 5], rho=0.1, beta=2.0, weight_decay=1e-3),
    "ContractiveAutoencoder": lambda: models.ContractiveAutoencoder([8, 5, 3], contraction=0.3),
    "StackedAutoencoder": lambda: models.StackedAutoencoder([8, 6, 4], denoising="masking"),
    "Classifier": lambda: models.Classifier([8, 6, 4], n_classes=3),
    "VAE": lambda: models.VAE(8, hidden=[6, 5], latent=2, likelihood="gaussian"),
}


def batch(n: int = 4, features: int = 8, seed: int = 0) -> tinyae.Tensor:
    return tinyae.tensor(np.random.default_rng(seed).uniform(0, 1, size=(n, features)).astype(np.float32))


# --- registry and config ------------------------------------------------------------------------------------


def test_registry_lists_every_model_class() -> None:
    expected = {
        "Autoencoder",
        "TiedAutoencoder",
        "DenoisingAutoencoder",
        "SparseAutoencoder",
        "ContractiveAutoencoder",
        "StackedAutoencoder",
        "Classifier",
        "VAE",
    }
    assert expected <= set(models.MODELS)
    for name in expected:  # the registry is tinyae.io's, so test stand-ins may be listed too
        cls = models.MODELS[name]
        assert cls.__name__ == name and issubclass(cls, models.Model)
    assert models.MODELS is tinyae.io.MODEL_REGISTRY


def test_register_refuses_a_second_class_of_the_same_name() -> None:
    class VAE(models.Model):  # a different class that happens to share a registered name
        pass

    with pytest.raises(ValueError, match="registered already"):
        models.register(VAE)


@pytest.mark.parametrize("name", list(FACTORIES))
def test_config_rebuilds_the_architecture_and_state_dict_the_values(
    backend: tinyae.Backend, name: str
) -> None:
    tinyae.manual_seed(1)
    model = FACTORIES[name]()
    config = json.loads(json.dumps(model.config))  # JSON round trip: only plain values
    assert config == model.config and config["backend"] == backend.name and config["dtype"] == "float32"
    tinyae.manual_seed(2)  # different initial values
    rebuilt = models.MODELS[type(model).__name__](**config)
    assert type(rebuilt) is type(model) and rebuilt.config == model.config
    assert [(k, p.shape) for k, p in rebuilt.named_parameters()] == [
        (k, p.shape) for k, p in model.named_parameters()
    ]
    assert list(rebuilt.state_dict()) == list(model.state_dict())
    x = batch()
    if any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
        model.loss(x)  # move the running averages, so that they must be loaded too
    rebuilt.load_state_dict(model.state_dict())
    model.eval()
    rebuilt.eval()
    np.testing.assert_array_equal(rebuilt(x).numpy(), model(x).numpy())


def test_config_keeps_dtype_and_follows_the_backend_after_to() -> None:
    model = models.Autoencoder([4, 2], dtype="float64")
    assert model.config["dtype"] == "float64" and model.config["backend"] == "numpy"
    model.to("strict")
    assert model.config["backend"] == "strict" and model.backend.name == "strict"
    assert models.Autoencoder(**model.config).backend.name == "strict"


def test_tied_config_has_no_tied_key_and_tied_flag_survives() -> None:
    assert "tied" not in models.TiedAutoencoder([4, 2]).config
    assert models.Autoencoder([4, 2], tied=True).config["tied"] is True


# --- tied weights -------------------------------------------------------------------------------------------


def test_tied_model_lists_the_shared_weight_once(backend: tinyae.Backend) -> None:
    model = models.TiedAutoencoder([8, 6, 3], activation="sigmoid", loss="bce")
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "encoder.0.linear.weight",
        "encoder.0.linear.bias",
        "encoder.1.linear.weight",
        "encoder.1.linear.bias",
        "decoder.0.linear.bias",
        "decoder.1.linear.bias",
    ]
    assert model.decoder[0].linear.weight is model.encoder[1].linear.weight
    assert model.decoder[1].linear.weight is model.encoder[0].linear.weight
    # the state_dict names the shared weight under both of its names, as PyTorch does
    assert "decoder.0.linear.weight" in model.state_dict()


def test_one_sgd_step_moves_a_tied_weight_once(backend: tinyae.Backend) -> None:
    model = models.TiedAutoencoder([8, 5], activation="sigmoid", loss="l2")
    weight = model.encoder[0].linear.weight
    before = weight.numpy().copy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    assert len(opt.params) == 3
    model.loss(batch())[0].backward()
    grad = backend.to_numpy(weight.grad).copy()
    assert np.abs(grad).max() > 0
    opt.step()
    np.testing.assert_allclose(weight.numpy(), before - 0.1 * grad, rtol=1e-6, atol=1e-7)


def test_tied_decoder_uses_the_transposed_encoder_weight() -> None:
    model = models.TiedAutoencoder([3, 2], activation="identity", output_activation="identity", loss="mse")
    w = model.encoder[0].linear.weight.numpy()
    z = np.array([[1.0, -2.0]], dtype=np.float32)
    np.testing.assert_allclose(model.decode(tinyae.tensor(z)).numpy(), z @ w.T, rtol=1e-6)


# --- the stacked model, its layer views and its classifier --------------------------------------------------


def test_layer_autoencoders_share_the_stacked_parameters(backend: tinyae.Backend) -> None:
    model = models.StackedAutoencoder([8, 6, 4, 3])
    assert model.num_layers == 3
    for i in range(model.num_layers):
        layer = model.layer_autoencoder(i)
        assert type(layer) is models.Autoencoder and layer.sizes == model.sizes[i : i + 2]
        expected = [
            *model.encoder[i].parameters(),
            *model.decoder[model.num_layers - 1 - i].parameters(),
        ]
        assert [id(p) for p in layer.parameters()] == [id(p) for p in expected]
    layer = model.layer_autoencoder(1)
    untouched = {name: p.numpy().copy() for name, p in model.named_parameters() if ".1." not in name}
    opt = optim.SGD(layer.parameters(), lr=1.0)
    layer.loss(model.layer_inputs(batch(), 1))[0].backward()
    before = model.encoder[1].linear.weight.numpy().copy()
    opt.step()
    assert not np.array_equal(model.encoder[1].linear.weight.numpy(), before)
    for name, p in model.named_parameters():
        if name in untouched:
            np.testing.assert_array_equal(p.numpy(), untouched[name])


def test_layer_views_activations_and_denoising() -> None:
    model = models.StackedAutoencoder(
        [8, 6, 4], activation="tanh", output_activation="sigmoid", loss="mse", denoising="gaussian"
    )
    first, second = model.layer_autoencoder(0), model.layer_autoencoder(1)
    assert isinstance(first, models.DenoisingAutoencoder) and first.noise == "gaussian"
    assert first.output_activation == "sigmoid" and second.output_activation == "tanh"
    assert models.DenoisingAutoencoder(**second.config).sizes == [6, 4]  # a standalone copy rebuilds
    with pytest.raises(IndexError, match="out of range"):
        model.layer_autoencoder(2)


def test_layer_inputs_are_the_codes_below_without_a_graph() -> None:
    model = models.StackedAutoencoder([8, 6, 4])
    x = batch()
    assert model.layer_inputs(x, 0) is x
    h1 = model.layer_inputs(x, 1)
    assert h1.shape == (4, 6) and not h1.requires_grad
    np.testing.assert_allclose(model.layer_inputs(x, 2).numpy(), model.encode(x).numpy(), rtol=1e-6)
    with pytest.raises(IndexError):
        model.layer_inputs(x, 3)


def test_stacked_classifier_shares_the_encoder(backend: tinyae.Backend) -> None:
    model = models.StackedAutoencoder([8, 6, 4])
    clf = model.classifier(3)
    assert clf.encoder is model.encoder
    assert [id(p) for p in clf.encoder.parameters()] == [id(p) for p in model.encoder.parameters()]
    assert [name for name, _ in clf.named_parameters()][-2:] == ["head.weight", "head.bias"]
    x, y = batch(), tinyae.tensor(np.array([0, 1, 2, 1]), dtype="int64")
    _, parts = clf.loss(x, y)
    assert list(parts) == ["cross_entropy"]
    logits = clf(x)
    assert logits.shape == (4, 3)
    predicted = clf.predict(x)
    assert predicted.shape == (4,)
    np.testing.assert_array_equal(predicted.numpy(), np.argmax(logits.numpy(), axis=1))
    expected = float(np.mean(predicted.numpy() == np.array([0, 1, 2, 1])))
    assert models.accuracy(clf, x, y) == expected
    assert models.accuracy(clf, x.numpy(), np.array([0, 1, 2, 1])) == expected


def test_initialisers_pass_through_the_models(backend: tinyae.Backend) -> None:
    tinyae.manual_seed(0)
    model = models.StackedAutoencoder([300, 200, 100], init="normal:1", bias_init="normal:1")
    for name, p in model.named_parameters():
        assert p.numpy().std() == pytest.approx(1.0, rel=0.2), name  # N(0, 1) for W and b, tf.random_normal
    assert model.config["bias_init"] == "normal:1"
    assert models.StackedAutoencoder(**model.config).config == model.config
    layer = model.layer_autoencoder(1)
    assert layer.config["bias_init"] == "normal:1"
    vae = models.VAE(20, hidden=10, latent=2, bias_init="truncated_normal:0.1")
    biases = [p.numpy() for name, p in vae.named_parameters() if name.endswith("bias")]
    assert all(np.abs(b).max() <= 0.2 + 1e-7 and np.any(b != 0) for b in biases)


def test_zero_softmax_head_and_one_gradient_descent_step(backend: tinyae.Backend) -> None:
    """The post's softmax layer starts at zeros: every class has probability 1/K, and one step of plain
    gradient descent on the mean cross-entropy moves the head bias by lr * (onehot - 1/K) averaged."""
    tinyae.manual_seed(0)
    model = models.StackedAutoencoder([6, 4], init="normal:1", bias_init="normal:1", dtype="float64")
    clf = model.classifier(3, head_init="zeros")
    np.testing.assert_array_equal(clf.head.weight.numpy(), np.zeros((4, 3)))
    assert clf.head.bias is not None
    x, labels = batch(4, features=6).numpy().astype(np.float64), np.array([0, 1, 2, 1])
    total, _ = clf.loss(tinyae.tensor(x, dtype="float64"), labels)
    assert total.item() == pytest.approx(np.log(3))  # uniform softmax
    total.backward()
    sgd = optim.SGD(clf.parameters(), lr=0.5)
    sgd.step()
    # d loss / d b = mean over the batch of (softmax - onehot) = 1/3 - (class counts / 4) = [1/12, -1/6, 1/12]
    np.testing.assert_allclose(clf.head.bias.numpy(), -0.5 * np.array([1 / 12, -1 / 6, 1 / 12]), atol=1e-12)
    assert clf.config["head_init"] == "zeros"


def test_norm_options_reach_every_batch_norm(backend: tinyae.Backend) -> None:
    options = {"eps": 1e-3, "momentum": 0.01, "unbiased_running_var": False}
    for tied in (False, True):
        model = models.Autoencoder([8, 6, 4], batch_norm=True, tied=tied, norm_options=options)
        norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
        assert len(norms) == 3  # two in the encoder, one in the decoder (not at the output)
        assert all((n.eps, n.momentum, n.unbiased_running_var) == (1e-3, 0.01, False) for n in norms)
        assert models.Autoencoder(**json.loads(json.dumps(model.config))).config == model.config
    default = models.Autoencoder([8, 4], batch_norm=True).encoder[0].norm
    assert (default.eps, default.momentum, default.unbiased_running_var) == (1e-5, 0.1, True)
    with pytest.raises(ValueError, match=r"unknown norm_options \['decay'\]"):
        models.Autoencoder([8, 4], batch_norm=True, norm_options={"decay": 0.9})


def test_classifier_needs_labels() -> None:
    clf = models.Classifier([4, 3], n_classes=2)
    with pytest.raises(TypeError, match=r"\(x, labels\)"):
        clf.loss(batch(features=4))


# --- modes, noise and shapes --------------------------------------------------------------------------------


def test_denoising_corrupts_in_training_mode_only(backend: tinyae.Backend) -> None:
    tinyae.manual_seed(0)
    model = models.DenoisingAutoencoder([8, 5], noise="masking", noise_level=0.5)
    plain = models.Autoencoder(**{k: v for k, v in model.config.items() if not k.startswith("noise")})
    plain.load_state_dict(model.state_dict())
    x = batch()
    first = model.loss(x, rng=RandomGenerator(backend, 3))[0].item()
    assert model.loss(x, rng=RandomGenerator(backend, 3))[0].item() == first  # noise fixed by the rng
    assert model.loss(x, rng=RandomGenerator(backend, 4))[0].item() != first
    model.eval()
    clean = model.loss(x, rng=RandomGenerator(backend, 3))[0].item()
    assert clean == pytest.approx(plain.loss(x)[0].item(), rel=1e-6) and clean != first
    np.testing.assert_array_equal(model.corrupt(x).numpy(), x.numpy())


def test_batch_norm_modes(backend: tinyae.Backend) -> None:
    model = models.Autoencoder([8, 6, 3], batch_norm=True)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(norms) == 3 and all(m.momentum == pytest.approx(0.1) for m in norms)  # decay 0.9
    assert model.encoder[0].linear.bias is None and model.decoder[1].norm is None
    x = batch()
    model.loss(x)
    moved = norms[0].running_mean.numpy().copy()
    assert np.abs(moved).max() > 0
    model.eval()
    first = model(x).numpy()
    np.testing.assert_array_equal(norms[0].running_mean.numpy(), moved)  # eval leaves them alone
    np.testing.assert_array_equal(model(x).numpy(), first)  # running averages: repeatable


def test_shapes_of_encode_decode_forward(backend: tinyae.Backend) -> None:
    x = batch()
    ae = models.Autoencoder([8, 6, 3])
    assert ae.encode(x).shape == (4, 3) and ae.decode(ae.encode(x)).shape == (4, 8) and ae(x).shape == (4, 8)
    assert float(ae(x).numpy().min()) >= 0 and float(ae(x).numpy().max()) <= 1  # sigmoid output
    vae = models.VAE(8, hidden=5, latent=2)
    mu, log_var = vae.encode(x)
    assert mu.shape == log_var.shape == (4, 2)
    assert vae(x).shape == (4, 8) and vae.decode(mu).shape == (4, 8)
    samples = vae.sample(6, rng=RandomGenerator(backend, 0))
    assert samples.shape == (6, 8) and not samples.requires_grad
    np.testing.assert_array_equal(samples.numpy(), vae.sample(6, rng=RandomGenerator(backend, 0)).numpy())
    reconstruction = vae.reconstruct(x)
    assert not reconstruction.requires_grad
    np.testing.assert_allclose(reconstruction.numpy(), vae.decode(mu).numpy(), rtol=1e-6)
    elbo = vae.elbo(x, rng=RandomGenerator(backend, 0))
    total, parts = vae.loss(x, rng=RandomGenerator(backend, 0))
    assert elbo.shape == (4,) and list(parts) == ["reconstruction", "kl"]
    assert -float(elbo.numpy().mean()) == pytest.approx(total.item(), rel=1e-5)


def test_inputs_may_be_arrays_of_any_backend(backend: tinyae.Backend) -> None:
    model = models.Autoencoder([8, 3], dtype="float64")
    host = np.random.default_rng(0).uniform(size=(4, 8)).astype(np.float32)  # float32 host data
    code = model.encode(host)
    assert code.backend is backend and code.dtype == backend.dtype("float64")
    total, _ = model.loss(host, np.zeros(4, dtype=np.int64))  # a label after x is ignored
    assert total.shape == ()


# --- errors -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: models.Autoencoder([784]), "at least 2"),
        (lambda: models.Autoencoder([784, 0]), "positive"),
        (lambda: models.Autoencoder([4, 2], loss="huber"), "unknown reconstruction loss 'huber'"),
        (lambda: models.Autoencoder([4, 2], activation="swish"), "unknown activation 'swish'"),
        (lambda: models.Autoencoder([4, 2], output_activation="identity", loss="bce"), "sigmoid output"),
        (lambda: models.SparseAutoencoder([4, 2], activation="relu"), "sigmoid code"),
        (lambda: models.SparseAutoencoder([4, 2], rho=1.5), "rho"),
        (lambda: models.ContractiveAutoencoder([4, 2], activation="relu"), "supports encoder activations"),
        (lambda: models.ContractiveAutoencoder([4, 2], batch_norm=True), "batch_norm"),
        (lambda: models.DenoisingAutoencoder([4, 2], noise="salt"), "unknown noise 'salt'"),
        (lambda: models.DenoisingAutoencoder([4, 2], noise_level=1.5), "noise_level"),
        (lambda: models.StackedAutoencoder([4, 2], batch_norm=True), "batch_norm"),
        (lambda: models.VAE(4, hidden=3, latent=2, likelihood="poisson"), "unknown likelihood"),
        (lambda: models.Classifier([4, 2], n_classes=1), "n_classes"),
    ],
)
def test_bad_settings_raise_with_a_clear_message(make: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_shared_blocks_must_match_the_sizes() -> None:
    model = models.Autoencoder([8, 6, 3])
    with pytest.raises(ValueError, match="block 0"):
        models.Autoencoder([8, 5, 3], encoder=model.encoder, decoder=model.decoder)
    with pytest.raises(ValueError, match="both"):
        models.Autoencoder([8, 6, 3], encoder=model.encoder)


def test_evaluating_restores_the_mode() -> None:
    model = models.Autoencoder([8, 6, 3], batch_norm=True)
    models.anomaly.reconstruction_error(model, batch())
    assert all(m.training for m in model.modules())
    model.eval()
    models.anomaly.reconstruction_error(model, batch())
    assert not any(m.training for m in model.modules())


MODULES = [
    "tinyae.models",
    "tinyae.models.base",
    "tinyae.models.autoencoder",
    "tinyae.models.denoising",
    "tinyae.models.sparse",
    "tinyae.models.contractive",
    "tinyae.models.stacked",
    "tinyae.models.classifier",
    "tinyae.models.vae",
    "tinyae.models.anomaly",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
