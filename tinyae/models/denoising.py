"""The denoising autoencoder: reconstruct the clean input from a corrupted copy of it.

With ``x~ = corrupt(x)`` (masking noise: each entry set to 0 with probability ``noise_level``; or gaussian
noise: ``x + noise_level * N(0, 1)``), the loss is ``reconstruction(decode(encode(x~)), x)``, compared with
the clean ``x``.  Corruption happens in training mode only; in evaluation mode the loss is the plain
autoencoder's, which makes it a validation score.
"""

from __future__ import annotations

from typing import Any

import tinyae.functional as F
from tinyae.backend import RandomGenerator
from tinyae.models.autoencoder import Autoencoder
from tinyae.models.base import check_choice, noise_source, register, total_of
from tinyae.tensor import Tensor

__all__ = ["NOISES", "DenoisingAutoencoder", "corrupt"]

NOISES = ("masking", "gaussian")


def corrupt(x: Tensor, noise: str, level: float, rng: RandomGenerator | None = None) -> Tensor:
    """``x`` with masking noise (a fraction ``level`` of the entries zeroed) or gaussian noise (std
    ``level``) drawn from ``rng`` (the backend generator of ``x`` when None)."""
    generator = noise_source(x, rng)
    if noise == "masking":
        return F.masking_noise(x, level, generator)
    if noise == "gaussian":
        return F.gaussian_noise(x, level, generator)
    raise ValueError(f"unknown noise {noise!r}; choose one of {list(NOISES)}")


def check_noise(noise: str, level: float) -> float:
    """Validate a corruption setting; returns the level as a float."""
    check_choice("noise", noise, NOISES)
    level = float(level)
    if level < 0 or (noise == "masking" and level > 1):
        raise ValueError(f"noise_level must be in [0, 1] for masking and >= 0 for gaussian, got {level}")
    return level


@register
class DenoisingAutoencoder(Autoencoder):
    """An :class:`Autoencoder` trained to undo a random corruption of its input.

    Loss (training mode): ``reconstruction(decode(encode(corrupt(x))), x)``; in evaluation mode nothing is
    corrupted.  The defaults follow the Theano denoising tutorial: sigmoid layers, cross-entropy summed
    over pixels and averaged over the batch, 30% masking noise.

    Parameters
    ----------
    sizes : list of int
        The encoder's widths, as for :class:`Autoencoder`.
    noise : {"masking", "gaussian"}
        Masking noise zeroes each entry with probability ``noise_level``; gaussian noise adds
        ``noise_level * N(0, 1)``.
    noise_level : float
        The masking fraction, or the gaussian noise's standard deviation.
    activation, loss, **kwargs
        As for :class:`Autoencoder`.

    Examples
    --------
    >>> import tinyae
    >>> model = DenoisingAutoencoder([784, 500], noise="masking", noise_level=0.3, tied=True)
    >>> rng = tinyae.backend.RandomGenerator(model.backend, seed=0)
    >>> total, parts = model.loss(tinyae.tensor([[0.5] * 784] * 4), rng=rng)
    """

    def __init__(
        self,
        sizes: list[int],
        noise: str = "masking",
        noise_level: float = 0.3,
        activation: str = "sigmoid",
        loss: str = "bce",
        **kwargs: Any,
    ) -> None:
        super().__init__(sizes, activation=activation, loss=loss, **kwargs)
        self.noise_level = check_noise(noise, noise_level)
        self.noise = noise

    def corrupt(self, x: Tensor, rng: RandomGenerator | None = None) -> Tensor:
        """``x`` corrupted in training mode, ``x`` itself in evaluation mode."""
        if not self.training or self.noise_level == 0:
            return x
        return corrupt(x, self.noise, self.noise_level, rng)

    def loss(self, *batch: Any, rng: RandomGenerator | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """``(total, {"reconstruction": ...})``: the corrupted input's reconstruction against clean x."""
        x = self.batch_input(batch)
        parts = {"reconstruction": self.reconstruction_loss(self.encode(self.corrupt(x, rng)), x)}
        return total_of(parts), parts

    @property
    def config(self) -> dict[str, Any]:
        return {**super().config, "noise": self.noise, "noise_level": self.noise_level}
