"""The five training workloads of the speed benchmark, defined once for every system that runs them.

Each workload is a list of dense layers, a batch size, a loss and an optimizer.  The systems
(``tinyae_workloads.py``, ``numpy_reference.py``, ``torch_workloads.py``) build their own versions from
these definitions and from one set of host weights (:func:`initial_weights`), so that they start from the
same numbers and can be checked against each other.

Parameters are named ``<layer>.weight`` (shape (in, out), the layout ``x @ W + b``), ``<layer>.bias``,
``<layer>.gamma`` and ``<layer>.beta`` (batch norm); :func:`parameter_names` gives the order every system
lists them in (each layer's weight, bias, gamma, beta, layer after layer).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LATENT_NOISE_SHAPE",
    "LOSS_FORMS",
    "PROBABILITY_FORMS",
    "WORKLOADS",
    "Layer",
    "Workload",
    "epoch_data",
    "initial_weights",
    "load_data",
    "parameter_names",
    "parameter_shapes",
    "workload_keys",
]

FEATURES = 784  # MNIST-shaped: 28 x 28 pixels in [0, 1]


@dataclass(frozen=True)
class Layer:
    """One dense layer ``act(bn(x @ W + b))``.

    ``activation`` is "relu", "sigmoid" or "none"; ``tied_to`` names the layer whose weight this one uses
    transposed (and then it has no weight of its own).
    """

    name: str
    n_in: int
    n_out: int
    activation: str
    bias: bool = True
    batch_norm: bool = False
    tied_to: str | None = None


@dataclass(frozen=True)
class Workload:
    """A training workload: ``kind`` is "mlp" (a chain of layers ending in a sigmoid), "tied" or "vae"."""

    key: str
    title: str
    kind: str
    batch: int
    layers: tuple[Layer, ...]
    loss: str  # "l2", "l2_norm", "mse", "bce" (from logits), "bce_probs" (of a sigmoid output), "bce+kl", ...
    optimizer: str  # "adam", "sgd" or "rmsprop"
    lr: float

    @property
    def label(self) -> str:
        return f"{self.key} {self.title}"

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"{self.key} has no layer {name!r}")


def _chain(sizes: list[int], hidden: str, output: str, batch_norm: bool = False) -> tuple[Layer, ...]:
    """Dense layers through ``sizes``: ``hidden`` activation everywhere but the last layer (``output``).

    With ``batch_norm`` every layer but the output one is ``Linear(no bias) -> BatchNorm1d -> act``, as
    ``tinyae.models.Autoencoder(batch_norm=True)`` builds it (the norm's shift replaces the bias).
    """
    count = len(sizes) - 1
    layers = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        last = i == count - 1
        norm = batch_norm and not last
        layers.append(
            Layer(f"fc{i}", n_in, n_out, output if last else hidden, bias=not norm, batch_norm=norm)
        )
    return tuple(layers)


def _probability_form(workload: Workload, title: str) -> Workload:
    """``workload`` with a sigmoid on its output layer and its cross-entropy taken of the probabilities."""
    output = dataclasses.replace(workload.layers[-1], activation="sigmoid")
    return dataclasses.replace(
        workload,
        key=workload.key + "p",
        title=title,
        layers=(*workload.layers[:-1], output),
        loss=workload.loss.replace("bce", "bce_probs"),
    )


WORKLOADS: dict[str, Workload] = {
    w.key: w
    for w in (
        Workload(
            "W1",
            "AE 784-500-300-20-300-500-784, ReLU, l2, Adam",
            "mlp",
            100,
            _chain([784, 500, 300, 20, 300, 500, 784], "relu", "sigmoid"),
            "l2",
            "adam",
            1e-3,
        ),
        Workload(
            "W2",
            "tied AE 784-500, sigmoid, cross-entropy, SGD 0.1",
            "tied",
            20,
            (
                Layer("enc", 784, 500, "sigmoid"),
                Layer("dec", 500, 784, "none", tied_to="enc"),
            ),
            "bce",
            "sgd",
            0.1,
        ),
        Workload(
            "W3",
            "batch-norm AE 784-400-300-200-20 (+ mirror), ReLU, L2 norm, Adam",
            "mlp",
            128,
            _chain([784, 400, 300, 200, 20, 200, 300, 400, 784], "relu", "sigmoid", batch_norm=True),
            "l2_norm",
            "adam",
            1e-3,
        ),
        Workload(
            "W4",
            "stacked AE 784-256-128-256-784, sigmoid, MSE, RMSProp",
            "mlp",
            256,
            _chain([784, 256, 128, 256, 784], "sigmoid", "sigmoid"),
            "mse",
            "rmsprop",
            0.02,
        ),
        Workload(
            "W5",
            "VAE 784-400-20 (+ decoder 20-400-784), BCE + KL, Adam",
            "vae",
            128,
            (
                Layer("enc", 784, 400, "relu"),
                Layer("mu", 400, 20, "none"),
                Layer("log_var", 400, 20, "none"),
                Layer("dec0", 20, 400, "relu"),
                Layer("dec1", 400, 784, "none"),
            ),
            "bce+kl",
            "adam",
            1e-3,
        ),
    )
}

WORKLOADS["W2p"] = _probability_form(
    WORKLOADS["W2"], "tied AE 784-500, sigmoid, sigmoid then BCE on probabilities, SGD 0.1"
)
WORKLOADS["W5p"] = _probability_form(
    WORKLOADS["W5"], "VAE 784-400-20 (+ decoder 20-400-784), sigmoid then BCE on probabilities + KL, Adam"
)

LATENT_NOISE_SHAPE = {"W5": 20, "W5p": 20}

# the probability form of a workload whose loss the source posts also write from probabilities: the
# Theano post behind tutorial 03 applies the sigmoid, then cross-entropy on the probabilities, and so does
# PyTorch's VAE example (``F.binary_cross_entropy(recon_x, x, reduction="sum")`` after a sigmoid)
PROBABILITY_FORMS = {"W2": "W2p", "W5": "W5p"}
LOSS_FORMS = ("logits", "probs", "both")


def workload_keys(keys: list[str], loss_form: str) -> list[str]:
    """The workloads to run for ``keys`` and ``--loss-form``: as given ("logits"), each replaced by its
    probability form where it has one ("probs"), or followed by it ("both")."""
    if loss_form not in LOSS_FORMS:
        raise ValueError(f"unknown loss form {loss_form!r}; choose from {LOSS_FORMS}")
    chosen: list[str] = []
    for key in keys:
        variant = PROBABILITY_FORMS.get(key)
        if loss_form != "probs" or variant is None:
            chosen.append(key)
        if loss_form != "logits" and variant is not None:
            chosen.append(variant)
    return list(dict.fromkeys(chosen))  # the VAE's reparameterisation noise is (batch, 20)


# hyperparameters shared by every system (PyTorch's defaults, which tinyae's optimizers also use)
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
RMSPROP_ALPHA = 0.99
RMSPROP_EPS = 1e-8
BN_MOMENTUM = 0.1
BN_EPS = 1e-5
NORM_FLOOR = 1e-12  # under the square root of the L2-norm loss (as tinyae.models does): finite at 0 error


def parameter_shapes(workload: Workload) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` of every parameter, in the order all systems list them."""
    shapes: list[tuple[str, tuple[int, ...]]] = []
    for layer in workload.layers:
        if layer.tied_to is None:
            shapes.append((f"{layer.name}.weight", (layer.n_in, layer.n_out)))
        if layer.bias:
            shapes.append((f"{layer.name}.bias", (layer.n_out,)))
        if layer.batch_norm:
            shapes.append((f"{layer.name}.gamma", (layer.n_out,)))
            shapes.append((f"{layer.name}.beta", (layer.n_out,)))
    return shapes


def parameter_names(workload: Workload) -> list[str]:
    return [name for name, _ in parameter_shapes(workload)]


def initial_weights(workload: Workload, dtype: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Host starting values of every parameter: Xavier-uniform weights (drawn in float64, then cast),
    zero biases and betas, unit gammas; the same numbers for every system."""
    number = int("".join(ch for ch in workload.key if ch.isdigit()))  # W2 and W2p start alike
    rng = np.random.default_rng([seed, number])
    weights: dict[str, np.ndarray] = {}
    for name, shape in parameter_shapes(workload):
        if name.endswith(".weight"):
            limit = math.sqrt(6.0 / (shape[0] + shape[1]))
            values = rng.uniform(-limit, limit, size=shape)
        elif name.endswith(".gamma"):
            values = np.ones(shape)
        else:
            values = np.zeros(shape)
        weights[name] = values.astype(dtype)
    return weights


def load_data(kind: str, samples: int, dtype: str, seed: int = 0) -> tuple[np.ndarray, str]:
    """Host images (n, 784) in [0, 1] and a line saying where they come from.

    ``random``: ``samples`` uniform random rows (no dataset needed); ``sample``: the 5,000 digits shipped
    with tinyae; ``mnist``: the MNIST training split when its files are found, else the test split
    (``TINYAE_DATA`` points at a folder holding it); nothing is downloaded.
    """
    if kind == "random":
        rng = np.random.default_rng(seed)
        return rng.random((samples, FEATURES), dtype=np.float32).astype(dtype, copy=False), (
            f"{samples:,} uniform random rows"
        )
    from tinyae.data import DatasetError, load_mnist, load_mnist_sample

    if kind == "sample":
        images, _ = load_mnist_sample()
        return images.astype(dtype, copy=False), "the 5,000 MNIST digits shipped with tinyae"
    if kind == "mnist":
        try:
            images, _ = load_mnist("train", download=False)
            source = "MNIST training split (55,000 digits)"
        except DatasetError:
            try:
                images, _ = load_mnist("test", download=False)
            except DatasetError as error:
                raise SystemExit(f"--data mnist: {error}") from None
            source = "MNIST test split (10,000 digits; the training files were not found)"
        return images.astype(dtype, copy=False), source
    raise ValueError(f"unknown data {kind!r}; choose random, sample or mnist")


def epoch_data(data: np.ndarray, batch: int, epoch_samples: int) -> np.ndarray:
    """The rows one epoch visits, in order: ``epoch_samples // batch`` full batches, cycling through
    ``data`` when it is smaller (a view when it is large enough)."""
    steps = epoch_samples // batch
    if steps < 1:
        raise ValueError(f"--epoch-samples {epoch_samples} is less than one batch of {batch}")
    rows = steps * batch
    if rows <= len(data):
        return data[:rows]
    return np.take(data, np.arange(rows) % len(data), axis=0)
