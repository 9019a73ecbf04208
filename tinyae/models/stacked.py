"""The stacked autoencoder: greedy layer-wise pretraining, end-to-end training, and a classifier on top.

Layer-wise pretraining needs no loop here (the loop lives in :mod:`tinyae.train`); the model hands out
the pieces::

    for i in range(model.num_layers):
        layer = model.layer_autoencoder(i)           # shares model's parameters of layer i
        for x in batches:
            h = model.layer_inputs(x, i)             # codes of the layers below, no graph
            total, parts = layer.loss(h)             # train layer i to reconstruct its input
    total, parts = model.loss(x)                     # end to end
    clf = model.classifier(10)                       # pretrained encoder + softmax head, shared
"""

from __future__ import annotations

from typing import Any

from tinyae.autograd import no_grad
from tinyae.backend import RandomGenerator
from tinyae.models.autoencoder import Autoencoder
from tinyae.models.base import register, total_of
from tinyae.models.classifier import Classifier
from tinyae.models.denoising import DenoisingAutoencoder, check_noise, corrupt
from tinyae.nn import Sequential
from tinyae.tensor import Tensor

__all__ = ["StackedAutoencoder"]


@register
class StackedAutoencoder(Autoencoder):
    """An :class:`Autoencoder` (``sizes = [784, 256, 128]``: 784-256-128-256-784) built for greedy
    layer-wise pretraining and for fine-tuning as a classifier.

    Layer ``i`` pairs encoder layer ``i`` (``sizes[i] -> sizes[i+1]``) with its mirror in the decoder
    (``sizes[i+1] -> sizes[i]``).  :meth:`layer_autoencoder` returns that pair as a one-hidden-layer
    autoencoder sharing this model's parameters, and :meth:`layer_inputs` the inputs it reconstructs.

    Parameters
    ----------
    sizes : list of int
        The encoder's widths, input first.
    activation : str
        Activation of every layer (and, through ``code_activation``, of the code).
    loss : str
        Reconstruction loss, for the whole model and each layer (``"mse"``: mean over all elements).
    denoising : {None, "masking", "gaussian"}
        Corrupt the input in training mode (each layer's input, when pretraining a layer), as a stacked
        denoising autoencoder does; None trains on clean inputs.
    noise_level : float
        Masking fraction or gaussian standard deviation when ``denoising`` is set.
    **kwargs
        ``code_activation``, ``output_activation``, ``tied``, ``init``, ``bias_init``, ``dtype``,
        ``backend`` as for :class:`Autoencoder` (batch norm is not supported here).

    Examples
    --------
    >>> import tinyae
    >>> model = StackedAutoencoder([784, 256, 128])
    >>> x = tinyae.tensor([[0.5] * 784] * 4)
    >>> layer = model.layer_autoencoder(1)
    >>> layer.loss(model.layer_inputs(x, 1))[0].shape
    ()
    """

    def __init__(
        self,
        sizes: list[int],
        activation: str = "sigmoid",
        loss: str = "mse",
        denoising: str | None = None,
        noise_level: float = 0.3,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("batch_norm"):
            raise ValueError("StackedAutoencoder does not support batch_norm=True")
        super().__init__(sizes, activation=activation, loss=loss, **kwargs)
        self.noise_level = float(noise_level) if denoising is None else check_noise(denoising, noise_level)
        self.denoising = denoising

    @property
    def num_layers(self) -> int:
        """The number of encoder layers (each one a stage of layer-wise pretraining)."""
        return len(self.sizes) - 1

    def _check_layer(self, i: int, upto: int) -> int:
        if not 0 <= i < upto:
            raise IndexError(f"layer {i} is out of range: valid layers are 0 to {upto - 1}")
        return int(i)

    def layer_autoencoder(self, i: int) -> Autoencoder:
        """Encoder layer ``i`` and its mirrored decoder layer as an autoencoder that shares their parameters.

        Its input is the code of layer ``i - 1`` (see :meth:`layer_inputs`); its output activation is
        this model's output activation for layer 0 and the hidden activation above.  With ``denoising``
        set it is a :class:`DenoisingAutoencoder`.  Its ``config`` rebuilds a standalone copy.
        """
        i = self._check_layer(i, self.num_layers)
        last = self.num_layers - 1
        encoder_block = self.encoder[i]
        decoder_block = self.decoder[last - i]
        settings: dict[str, Any] = {
            "sizes": [self.sizes[i], self.sizes[i + 1]],
            "activation": self.code_activation if i == last else self.activation,
            "output_activation": self.output_activation if i == 0 else self.activation,
            "loss": self.loss_name,
            "tied": self.tied,
            "init": self.init,
            "bias_init": self.bias_init,
            "encoder": Sequential(encoder_block),
            "decoder": Sequential(decoder_block),
        }
        if self.denoising is not None:
            return DenoisingAutoencoder(noise=self.denoising, noise_level=self.noise_level, **settings)
        return Autoencoder(**settings)

    def layer_inputs(self, x: Any, i: int) -> Tensor:
        """The input of layer ``i``: ``x`` passed through encoder layers ``0 .. i-1`` without a graph.

        ``i`` may also be ``num_layers``, which gives the code.
        """
        i = self._check_layer(i, self.num_layers + 1)
        h = self.as_input(x)
        with no_grad():
            for block in list(self.encoder)[:i]:
                h = block(h)
        return h

    def loss(self, *batch: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, {"reconstruction": ...})``, end to end (the input corrupted when ``denoising`` is set,
        in training mode)."""
        x = self.batch_input(batch)
        source = x
        if self.denoising is not None and self.training and self.noise_level > 0:
            source = corrupt(x, self.denoising, self.noise_level, rng)
        parts = {"reconstruction": self.reconstruction_loss(self.encode(source), x)}
        return total_of(parts), parts

    def classifier(self, n_classes: int, head_init: str | None = None) -> Classifier:
        """This model's encoder (shared, not copied) followed by a new softmax head with ``n_classes``,
        initialised like the encoder or with ``head_init`` (``"zeros"``: the post's ``tf.zeros`` softmax)."""
        return Classifier(
            self.sizes,
            n_classes,
            activation=self.activation,
            code_activation=self.code_activation,
            init=self.init,
            bias_init=self.bias_init,
            head_init=head_init,
            encoder=self.encoder,
        )

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "denoising": self.denoising, "noise_level": self.noise_level}
