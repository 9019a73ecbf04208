"""The multilayer autoencoder, with optional batch norm and tied weights, and the tied-weight variant.

Reproduces, for example, the TensorFlow AE 784-500-300-20-300-500-784 (ReLU, sigmoid output,
``l2_loss``), Theano's tied AE 784-500 (sigmoid, cross-entropy) and the batch-norm AE 784-400-300-200-20
(ReLU or softplus, loss the batch mean of each sample's L2 error norm).
"""

from __future__ import annotations

from typing import Any

from tinyae.backend import Backend, RandomGenerator, get_backend
from tinyae.models.base import Model, check_choice, check_sizes, register, total_of
from tinyae.models.layers import (
    ACTIVATIONS,
    check_activation,
    check_stack,
    decode_logits,
    dense_stack,
    tied_stack,
)
from tinyae.models.reconstruction import LOSSES, reconstruction_loss
from tinyae.nn import Module
from tinyae.tensor import Tensor

__all__ = ["Autoencoder", "TiedAutoencoder"]


@register
class Autoencoder(Model):
    """A multilayer perceptron autoencoder whose decoder mirrors its encoder.

    ``sizes = [784, 500, 300, 20]`` gives the encoder 784-500-300-20 and the decoder 20-300-500-784.
    Every hidden layer uses ``activation``, the code layer ``code_activation`` and the output layer
    ``output_activation``.

    Parameters
    ----------
    sizes : list of int
        The encoder's widths, input first, code last (two or more).
    activation : str
        Hidden activation: ``"relu"``, ``"sigmoid"``, ``"tanh"``, ``"softplus"``, ``"leaky_relu"`` or
        ``"identity"``.
    code_activation : str, optional
        Activation of the code layer; ``None`` means the same as ``activation``.
    output_activation : str
        Activation of the reconstruction (``"sigmoid"`` for pixels in [0, 1]).
    loss : str
        Reconstruction loss (see :mod:`tinyae.models.reconstruction`): ``"l2"`` = ``0.5 * sum (xhat - x)^2``
        over the batch (``tf.nn.l2_loss``), ``"l2_mean"`` = that divided by the batch size, ``"mse"`` =
        mean over all elements, ``"bce"`` = cross-entropy summed over features, averaged over the batch,
        computed from the logits (needs a sigmoid output), ``"l2_norm"`` = batch mean of each sample's
        Euclidean error norm.
    batch_norm : bool
        Put a BatchNorm1d (momentum 0.1, moving-average decay 0.9) after every linear layer but the output
        one, before its activation; those linear layers then have no bias (the norm's shift replaces it).
    norm_options : dict, optional
        Keywords of every BatchNorm1d: ``eps``, ``momentum``, ``unbiased_running_var``; the batch-norm
        post's TensorFlow settings are ``{"eps": 1e-3, "momentum": 0.1, "unbiased_running_var": False}``.
    tied : bool
        Decoder layer i uses the transposed weight of the mirrored encoder layer (one Parameter) and a
        bias of its own.
    init : str
        Weight initialiser of the linear layers (a name in ``tinyae.nn.init.INITIALIZERS``, or
        ``"normal:1"``, ``"truncated_normal:0.1"``: see :func:`tinyae.nn.init.resolve`).
    bias_init : str
        Bias initialiser of the untied linear layers, the same choices (``"zeros"`` by default).
    dtype : str
        ``"float32"`` (default) or ``"float64"``.
    backend : str or Backend, optional
        Where the parameters live; the current default backend when None.
    encoder, decoder : nn.Sequential, optional
        Existing stacks of :class:`~tinyae.models.layers.Dense` blocks to use (and share) instead of new
        ones, as built by another model with the same settings (the stacked AE's layer views use this).
        They are checked against ``sizes`` and are not part of ``config``.

    Examples
    --------
    >>> import tinyae
    >>> from tinyae.data import load_mnist_sample
    >>> model = Autoencoder([784, 500, 300, 20])
    >>> total, parts = model.loss(tinyae.tensor(load_mnist_sample()[0][:100]))
    >>> list(parts), model.encode(tinyae.tensor([[0.0] * 784])).shape
    (['reconstruction'], (1, 20))
    """

    def __init__(
        self,
        sizes: list[int],
        activation: str = "relu",
        code_activation: str | None = None,
        output_activation: str = "sigmoid",
        loss: str = "l2",
        batch_norm: bool = False,
        tied: bool = False,
        init: str = "xavier_uniform",
        dtype: str = "float32",
        backend: str | Backend | None = None,
        bias_init: str = "zeros",
        norm_options: dict[str, Any] | None = None,
        *,
        encoder: Module | None = None,
        decoder: Module | None = None,
    ) -> None:
        super().__init__()
        self.sizes = check_sizes(type(self).__name__, sizes)
        self.activation = check_activation("activation", activation)
        self.code_activation = check_activation(
            "code_activation", activation if code_activation is None else code_activation
        )
        self.output_activation = check_activation("output_activation", output_activation)
        check_choice("reconstruction loss", loss, LOSSES)
        if loss == "bce" and output_activation != "sigmoid":
            raise ValueError(
                f"loss 'bce' is computed from the logits of a sigmoid output; got output_activation "
                f"{output_activation!r}"
            )
        self.loss_name = loss
        self.batch_norm = bool(batch_norm)
        self.tied = bool(tied)
        self.init = init
        self.bias_init = bias_init
        self.norm_options = None if norm_options is None else dict(norm_options)
        depth = len(self.sizes) - 1
        encoder_acts = [self.activation] * (depth - 1) + [self.code_activation]
        decoder_acts = [self.activation] * (depth - 1) + [self.output_activation]
        norms = [self.batch_norm] * depth
        decoder_norms = [self.batch_norm] * (depth - 1) + [False]
        mirrored = self.sizes[::-1]
        if (encoder is None) != (decoder is None):
            raise ValueError(
                f"{type(self).__name__}: pass both encoder and decoder to share them, or neither"
            )
        if encoder is not None and decoder is not None:
            self.encoder = check_stack("encoder", encoder, self.sizes, encoder_acts, norms)
            self.decoder = check_stack("decoder", decoder, mirrored, decoder_acts, decoder_norms)
            return
        target = get_backend(backend)
        options = self.norm_options
        self.encoder = dense_stack(self.sizes, encoder_acts, norms, init, dtype, target, bias_init, options)
        if self.tied:
            self.decoder = tied_stack(self.encoder, decoder_acts, decoder_norms, options)
        else:
            self.decoder = dense_stack(
                mirrored, decoder_acts, decoder_norms, init, dtype, target, bias_init, options
            )

    # --- the protocol ---------------------------------------------------------------------------------------
    def encode(self, x: Any) -> Tensor:
        """(batch, sizes[0]) -> (batch, sizes[-1]) code."""
        out: Tensor = self.encoder(self.as_input(x))
        return out

    def decode_logits(self, z: Any) -> Tensor:
        """(batch, sizes[-1]) code -> (batch, sizes[0]) output pre-activations."""
        return decode_logits(self.decoder, self.as_input(z))

    def decode(self, z: Any) -> Tensor:
        """(batch, sizes[-1]) code -> (batch, sizes[0]) reconstruction in data space."""
        return ACTIVATIONS[self.output_activation](self.decode_logits(z))

    def reconstruction_loss(self, code: Tensor, target: Tensor) -> Tensor:
        """The configured reconstruction loss of decoding ``code`` against ``target`` (a scalar)."""
        logits = self.decode_logits(code)
        output = None if self.loss_name == "bce" else ACTIVATIONS[self.output_activation](logits)
        return reconstruction_loss(self.loss_name, logits, output, target)

    def loss(self, *batch: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, {"reconstruction": ...})`` for the batch ``(x,)`` (a label after x is ignored)."""
        x = self.batch_input(batch)
        parts = {"reconstruction": self.reconstruction_loss(self.encode(x), x)}
        return total_of(parts), parts

    def batch_input(self, batch: tuple[Any, ...]) -> Tensor:
        """The input ``x`` of a loader batch ``(x,)`` or ``(x, labels)``, as a tensor."""
        if not batch:
            raise TypeError(f"{type(self).__name__}.loss() needs a batch (x,), got nothing")
        return self.as_input(batch[0])

    @property
    def config(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes),
            "activation": self.activation,
            "code_activation": self.code_activation,
            "output_activation": self.output_activation,
            "loss": self.loss_name,
            "batch_norm": self.batch_norm,
            "tied": self.tied,
            "init": self.init,
            "bias_init": self.bias_init,
            "norm_options": self.norm_options,
            **self.placement(),
        }

    def weights(self) -> list[Tensor]:
        """The weight matrices (each once: a tied weight is listed once), for weight decay."""
        return [p for p in self.parameters() if p.ndim == 2]

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, loss={self.loss_name!r}" + (", tied" if self.tied else "")


@register
class TiedAutoencoder(Autoencoder):
    """:class:`Autoencoder` with ``tied=True``: decoder layer i computes ``h @ W.T + c`` with ``W`` the
    mirrored encoder layer's weight, so the model has one weight matrix per layer pair.

    Takes every argument of :class:`Autoencoder` except ``tied``.

    Examples
    --------
    >>> model = TiedAutoencoder([784, 500], activation="sigmoid", loss="bce")
    >>> [name for name, _ in model.named_parameters()]
    ['encoder.0.linear.weight', 'encoder.0.linear.bias', 'decoder.0.linear.bias']
    """

    def __init__(self, sizes: list[int], **kwargs: Any) -> None:
        super().__init__(sizes, tied=True, **kwargs)

    @property
    def config(self) -> dict[str, Any]:
        settings = super().config
        del settings["tied"]
        return settings
