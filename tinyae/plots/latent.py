"""Two-dimensional latent spaces: codes coloured by class, and the images a decoder draws across a grid."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from tinyae.plots._common import PathLike, as_numpy, check_image_shape, finish, new_figure

__all__ = ["latent_manifold", "latent_scatter", "manifold_image"]

MAX_CLASSES = 20  # more distinct labels than this (or float labels) get a colour bar instead of a legend


def latent_scatter(
    codes_2d: Any, labels: Any, path: PathLike | None = None, title: str | None = None
) -> Figure:
    """The codes of a 2-D latent space as points, coloured by their labels.

    Class labels (integers or strings, at most 20 of them) get one colour each and a legend; many
    distinct or real-valued labels get a colour map and a colour bar.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> fig = latent_scatter(rng.normal(size=(100, 2)), np.arange(100) % 3)
    >>> fig.axes[0].get_legend_handles_labels()[1]
    ['0', '1', '2']
    """
    z = as_numpy(codes_2d).astype(np.float64)
    y = as_numpy(labels).reshape(-1)
    if z.ndim != 2 or z.shape[1] != 2:
        raise ValueError(f"codes_2d must have shape (n, 2), got {z.shape}")
    if len(y) != len(z):
        raise ValueError(f"{len(z)} codes but {len(y)} labels")
    classes = np.unique(y)
    fig = new_figure(6.0, 5.0)
    ax = fig.add_subplot()
    size = 12.0 if len(z) <= 1000 else 4.0
    if y.dtype.kind in "biuUSO" and len(classes) <= MAX_CLASSES:
        palette = "tab10" if len(classes) <= 10 else "tab20"
        for k, value in enumerate(classes):
            chosen = y == value
            color = colormaps[palette](k)
            ax.scatter(z[chosen, 0], z[chosen, 1], s=size, color=color, label=str(value))
        ax.legend(title="label", markerscale=2.0, fontsize=8, loc="best")
    else:
        points = ax.scatter(z[:, 0], z[:, 1], s=size, c=y.astype(np.float64), cmap="viridis")
        fig.colorbar(points, ax=ax, label="label")
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title or "latent codes")
    ax.grid(True, alpha=0.3)
    return finish(fig, path)


def _grid_axis(n: int, span: float) -> np.ndarray:
    return np.linspace(-span, span, n)


def manifold_image(
    decode_fn: Callable[[np.ndarray], Any],
    n: int = 15,
    span: float = 3.0,
    image_shape: tuple[int, int] = (28, 28),
) -> np.ndarray:
    """Decode an ``n x n`` grid of 2-D codes from ``-span`` to ``span`` and tile the images into one.

    ``decode_fn`` gets all ``n*n`` codes at once as a ``(n*n, 2)`` float32 NumPy array and returns
    ``(n*n, h*w)`` images (NumPy or a Tensor).  Left to right ``z[0]`` grows; bottom to top ``z[1]``
    grows, as on a scatter plot of the codes.

    Returns
    -------
    numpy.ndarray
        ``(n*h, n*w)`` float64.

    Examples
    --------
    >>> import numpy as np
    >>> big = manifold_image(lambda z: np.repeat(z[:, :1], 4, axis=1), n=3, span=1.0, image_shape=(2, 2))
    >>> big.shape, big[0, ::2].tolist(), big[::2, 0].tolist()
    ((6, 6), [-1.0, 0.0, 1.0], [-1.0, -1.0, -1.0])
    """
    if n < 1 or not span > 0:
        raise ValueError(f"latent manifold needs n >= 1 and span > 0, got n={n}, span={span}")
    h, w = image_shape
    z0 = _grid_axis(n, span)
    z1 = _grid_axis(n, span)[::-1]  # image rows run downwards, z[1] upwards
    codes = np.stack(np.meshgrid(z0, z1), axis=-1).reshape(n * n, 2).astype(np.float32)
    images = as_numpy(decode_fn(codes)).astype(np.float64)
    if len(images) != n * n:
        raise ValueError(f"decode_fn returned {len(images)} images for {n * n} codes")
    check_image_shape(images[0].size, image_shape, f"decode_fn output of shape {images.shape}: each image")
    # (row, col, h, w) -> (row, h, col, w): each grid row becomes h rows of pixels
    return images.reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)


def latent_manifold(
    decode_fn: Callable[[np.ndarray], Any],
    n: int = 15,
    span: float = 3.0,
    image_shape: tuple[int, int] = (28, 28),
    path: PathLike | None = None,
    title: str | None = None,
) -> Figure:
    """What the decoder draws across the latent plane: :func:`manifold_image` with latent axes.

    Examples
    --------
    >>> import numpy as np
    >>> fig = latent_manifold(lambda z: np.tile(z[:, :1], (1, 784)) / 6 + 0.5, n=5)
    >>> fig.axes[0].get_xlabel(), fig.get_size_inches().tolist()
    ('z[0]', [6.0, 6.0])
    """
    big = manifold_image(decode_fn, n, span, image_shape)
    step = 2 * span / (n - 1) if n > 1 else 2 * span
    half = span + step / 2  # each image is centred on its code
    fig = new_figure(6.0, 6.0)
    ax = fig.add_subplot()
    vmin, vmax = (0.0, 1.0) if big.min() >= 0 and big.max() <= 1 else (float(big.min()), float(big.max()))
    ax.imshow(
        big, cmap="gray", vmin=vmin, vmax=vmax, extent=(-half, half, -half, half), interpolation="nearest"
    )
    ax.set_xlabel("z[0]")
    ax.set_ylabel("z[1]")
    ax.set_title(title or f"decoded {n} x {n} grid of latent codes")
    return finish(fig, path)
