"""A softmax classifier on top of an encoder: fine-tuning a pretrained stacked autoencoder.

``logits = code(x) @ W + b`` with ``code`` the encoder's output; the loss is the softmax cross-entropy
``mean_b -log softmax(logits_b)[y_b]``.
"""

from __future__ import annotations

from typing import Any

import tinyae.functional as F
from tinyae.backend import Backend, RandomGenerator, dtype_name, get_backend
from tinyae.models.base import Model, check_sizes, evaluating, register, total_of
from tinyae.models.layers import check_activation, check_stack, dense_stack
from tinyae.nn import Linear, Module
from tinyae.tensor import Tensor

__all__ = ["Classifier", "accuracy"]


@register
class Classifier(Model):
    """An MLP encoder followed by a linear softmax head: ``logits = head(encoder(x))``.

    Parameters
    ----------
    sizes : list of int
        The encoder's widths, input first (``[784, 128, 64]``); the head maps ``sizes[-1]`` to
        ``n_classes``.
    n_classes : int
        Number of classes.
    activation : str
        Activation of every encoder layer but the last; ``code_activation`` (default: the same) of the last.
    batch_norm : bool
        Batch norm after every encoder linear layer, as in :class:`~tinyae.models.Autoencoder`.
    init, dtype, backend, bias_init
        As for :class:`~tinyae.models.Autoencoder` (they also initialise the head, unless ``head_init``).
    head_init : str, optional
        Initialiser of the head's weight and bias when they should differ from the encoder's:
        ``"zeros"`` is the stacked autoencoder post's softmax layer (``tf.zeros`` W and b).
    encoder : nn.Sequential, optional
        An existing encoder to use, and share, instead of a new one (see
        :meth:`StackedAutoencoder.classifier`); not part of ``config``.

    Examples
    --------
    >>> import tinyae
    >>> model = Classifier([784, 128, 64], n_classes=10)
    >>> x, y = tinyae.tensor([[0.5] * 784] * 3), tinyae.tensor([1, 2, 3], dtype="int64")
    >>> total, parts = model.loss(x, y)
    >>> model.predict(x).shape
    (3,)
    """

    def __init__(
        self,
        sizes: list[int],
        n_classes: int,
        activation: str = "sigmoid",
        code_activation: str | None = None,
        batch_norm: bool = False,
        init: str = "xavier_uniform",
        dtype: str = "float32",
        backend: str | Backend | None = None,
        bias_init: str = "zeros",
        head_init: str | None = None,
        *,
        encoder: Module | None = None,
    ) -> None:
        super().__init__()
        self.sizes = check_sizes(type(self).__name__, sizes)
        if int(n_classes) < 2:
            raise ValueError(f"a classifier needs n_classes >= 2, got {n_classes}")
        self.n_classes = int(n_classes)
        self.activation = check_activation("activation", activation)
        self.code_activation = check_activation(
            "code_activation", activation if code_activation is None else code_activation
        )
        self.batch_norm = bool(batch_norm)
        self.init = init
        self.bias_init = bias_init
        self.head_init = head_init
        depth = len(self.sizes) - 1
        activations = [self.activation] * (depth - 1) + [self.code_activation]
        norms = [self.batch_norm] * depth
        if encoder is not None:
            self.encoder = check_stack("encoder", encoder, self.sizes, activations, norms)
            first = next(encoder.parameters())
            target, dtype = first.backend, dtype_name(first.dtype)
        else:
            target = get_backend(backend)
            self.encoder = dense_stack(self.sizes, activations, norms, init, dtype, target, bias_init)
        self.head = Linear(
            self.sizes[-1],
            self.n_classes,
            init=init if head_init is None else head_init,
            bias_init=bias_init if head_init is None else head_init,
            dtype=dtype,
            backend=target,
        )

    def encode(self, x: Any) -> Tensor:
        """(batch, sizes[0]) -> (batch, sizes[-1]) code."""
        out: Tensor = self.encoder(self.as_input(x))
        return out

    def decode(self, z: Any) -> Tensor:
        """(batch, sizes[-1]) code -> (batch, n_classes) logits."""
        out: Tensor = self.head(self.as_input(z))
        return out

    def predict(self, x: Any) -> Tensor:
        """The most likely class of each sample, shape (batch,), int64; evaluation mode, no graph."""
        with evaluating(self):
            logits = self.forward(x)
        xp = logits.backend.xp
        return Tensor(xp.argmax(logits.data, axis=-1), backend=logits.backend)

    def loss(self, *batch: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, {"cross_entropy": ...})``: softmax cross-entropy averaged over the batch ``(x, y)``."""
        if len(batch) != 2:
            raise TypeError(f"Classifier.loss() needs a batch (x, labels), got {len(batch)} item(s)")
        x, labels = batch
        logits = self.forward(x)
        parts = {"cross_entropy": F.cross_entropy(logits, labels_on(labels, logits))}
        return total_of(parts), parts

    @property
    def config(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes),
            "n_classes": self.n_classes,
            "activation": self.activation,
            "code_activation": self.code_activation,
            "batch_norm": self.batch_norm,
            "init": self.init,
            "bias_init": self.bias_init,
            "head_init": self.head_init,
            **self.placement(),
        }


def labels_on(labels: Any, like: Tensor) -> Any:
    """Integer labels as an array on the backend of ``like`` (from a tensor, a backend or NumPy array)."""
    if isinstance(labels, Tensor):
        labels = labels.data
    return Tensor(labels, backend=like.backend).data


def accuracy(model: Classifier, x: Any, y: Any) -> float:
    """The fraction of samples whose predicted class equals the label, in evaluation mode.

    Examples
    --------
    >>> import tinyae
    >>> model = Classifier([4, 3], n_classes=2)
    >>> 0.0 <= accuracy(model, tinyae.tensor([[1.0, 0.0, 0.0, 0.0]]), [1]) <= 1.0
    True
    """
    predicted = model.predict(x)
    xp = predicted.backend.xp
    truth = labels_on(y, predicted)
    if tuple(truth.shape) != predicted.shape:
        raise ValueError(
            f"accuracy: {predicted.shape[0]} predictions but labels of shape {tuple(truth.shape)}"
        )
    hits = xp.astype(predicted.data == xp.astype(truth, predicted.data.dtype), xp.float64)
    return float(xp.mean(hits))
