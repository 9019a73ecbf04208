"""Images: grids of digits, originals above their reconstructions, and tiles of learned filters."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tinyae.plots._common import (
    DPI,
    PathLike,
    as_numpy,
    check_image_shape,
    figure_title,
    finish,
    new_figure,
    save_figure,
)

__all__ = ["banner_png", "filter_tile", "image_grid", "reconstruction_grid", "tile_filters"]

CELL = 1.0  # inches per image in a grid: 100 pixels for a 28 x 28 digit


def _as_images(images: Any, image_shape: tuple[int, int], what: str) -> np.ndarray:
    """``(n, h, w)`` float64 host images from ``(n, h*w)`` rows or ``(n, h, w)`` stacks."""
    array = as_numpy(images).astype(np.float64)
    if array.ndim < 1 or len(array) == 0:
        raise ValueError(f"{what} must hold at least one image, got shape {array.shape}")
    check_image_shape(array[0].size, image_shape, f"{what} of shape {array.shape}: each item")
    return array.reshape(len(array), *image_shape)


def _show(ax: Axes, image: np.ndarray, vmin: float, vmax: float) -> None:
    ax.imshow(image, cmap="gray", vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _value_range(*stacks: np.ndarray) -> tuple[float, float]:
    """[0, 1] for pixel intensities; the data's own range for anything else (codes, differences)."""
    lo = min(float(s.min()) for s in stacks)
    hi = max(float(s.max()) for s in stacks)
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return lo, (hi if hi > lo else lo + 1.0)


def image_grid(
    images: Any,
    rows: int,
    cols: int,
    image_shape: tuple[int, int] = (28, 28),
    titles: Sequence[str] | None = None,
    path: PathLike | None = None,
) -> Figure:
    """The first ``rows * cols`` images in a grid, row by row, on one grey scale.

    Pixels in [0, 1] are shown on that scale; other data on its own min-max range.  Cells past the
    last image stay empty.

    Parameters
    ----------
    images : array or Tensor
        ``(n, h*w)`` rows or ``(n, h, w)`` images.
    rows, cols : int
        Grid size.
    image_shape : (int, int)
        ``(h, w)`` of one image.
    titles : sequence of str, optional
        One short title per shown image (a label or a score).
    path : str or path, optional
        Where to save the PNG (written atomically).

    Examples
    --------
    >>> from tinyae.data import load_mnist_sample
    >>> images, labels = load_mnist_sample()
    >>> fig = image_grid(images[::500], 2, 5, titles=[str(d) for d in labels[::500]])
    >>> fig.get_size_inches().tolist()
    [5.0, 2.0]
    """
    if rows < 1 or cols < 1:
        raise ValueError(f"image_grid needs rows >= 1 and cols >= 1, got {rows} x {cols}")
    stack = _as_images(images, image_shape, "images")[: rows * cols]
    if titles is not None and len(titles) < len(stack):
        raise ValueError(f"got {len(titles)} titles for {len(stack)} images")
    vmin, vmax = _value_range(stack)
    fig = new_figure(cols * CELL, rows * CELL)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(stack):
            ax.set_axis_off()
            continue
        _show(ax, stack[k], vmin, vmax)
        if titles is not None:
            ax.set_title(str(titles[k]), fontsize=8)
    return finish(fig, path)


def reconstruction_grid(
    originals: Any,
    reconstructions: Any,
    n: int = 10,
    path: PathLike | None = None,
    difference: bool = False,
    image_shape: tuple[int, int] = (28, 28),
    title: str | None = None,
) -> Figure:
    """The first ``n`` originals in the top row and their reconstructions below them.

    ``title`` goes above the grid (say there when the model is barely trained).

    With ``difference=True`` a third row shows ``|original - reconstruction|`` (bright = badly
    reconstructed), as anomaly-detection write-ups do to show *where* an input was not understood.

    Examples
    --------
    >>> from tinyae.data import load_mnist_sample
    >>> images, _ = load_mnist_sample()
    >>> fig = reconstruction_grid(images[:5], 1.0 - images[:5], n=5, difference=True)
    >>> fig.get_size_inches().tolist()
    [5.0, 3.0]
    """
    top = _as_images(originals, image_shape, "originals")
    bottom = _as_images(reconstructions, image_shape, "reconstructions")
    if top.shape != bottom.shape:
        raise ValueError(f"originals {top.shape} and reconstructions {bottom.shape} differ in shape")
    n = min(n, len(top))
    if n < 1:
        raise ValueError(f"reconstruction_grid needs n >= 1, got {n}")
    shown = [("original", top[:n]), ("reconstruction", bottom[:n])]
    if difference:
        shown.append(("|difference|", np.abs(top[:n] - bottom[:n])))
    fig = new_figure(n * CELL, len(shown) * CELL)
    axes = fig.subplots(len(shown), n, squeeze=False)
    for row, (name, stack) in enumerate(shown):
        vmin, vmax = _value_range(stack)
        for col in range(n):
            _show(axes[row, col], stack[col], vmin, vmax)
        axes[row, 0].set_ylabel(name, fontsize=8)
    if title:
        figure_title(fig, title, largest=10.0)
    return finish(fig, path)


def tile_filters(
    weights: Any,
    n: int = 100,
    image_shape: tuple[int, int] = (28, 28),
    separator: int = 1,
    fill: float = 0.0,
) -> np.ndarray:
    """The first ``n`` filters (columns of ``W``) as one image: a square grid, each filter in [0, 1].

    A dense layer computes ``x @ W + b`` with ``W`` of shape ``(in_features, out_features)``, so the
    filter of hidden unit ``j`` (the input it responds to most) is the column ``W[:, j]``.  Each filter
    is min-max scaled to [0, 1] on its own, as in the Theano and UFLDL tutorials; a constant filter
    becomes 0.  Filters are separated, and empty cells filled, with ``fill``.

    Returns
    -------
    numpy.ndarray
        ``(rows*h + (rows-1)*separator, cols*w + (cols-1)*separator)`` float64, with
        ``cols = ceil(sqrt(n))`` and ``rows = ceil(n / cols)``.

    Examples
    --------
    >>> import numpy as np
    >>> tile_filters(np.arange(8.0).reshape(4, 2), image_shape=(2, 2))
    array([[0.        , 0.33333333, 0.        , 0.        , 0.33333333],
           [0.66666667, 1.        , 0.        , 0.66666667, 1.        ]])
    """
    W = as_numpy(weights).astype(np.float64)
    h, w = image_shape
    if W.ndim != 2 or W.shape[0] != h * w:
        hint = " (filters are columns: pass W, not W.T)" if W.ndim == 2 and W.shape[1] == h * w else ""
        raise ValueError(
            f"weights of shape {W.shape} are not (h*w = {h * w}, hidden) for {image_shape}{hint}"
        )
    n = min(n, W.shape[1])
    if n < 1:
        raise ValueError(f"tile_filters needs n >= 1 filters, got {n}")
    filters = W[:, :n].T  # (n, h*w): one filter per row
    lo = filters.min(axis=1, keepdims=True)
    span = filters.max(axis=1, keepdims=True) - lo
    scaled = (filters - lo) / np.where(span > 0, span, 1.0)  # a constant filter has no range: all 0
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    out = np.full((rows * (h + separator) - separator, cols * (w + separator) - separator), fill)
    for k in range(n):
        r, c = divmod(k, cols)
        top, left = r * (h + separator), c * (w + separator)
        out[top : top + h, left : left + w] = scaled[k].reshape(h, w)
    return out


def filter_tile(
    weights: Any,
    n: int = 100,
    image_shape: tuple[int, int] = (28, 28),
    path: PathLike | None = None,
    title: str | None = None,
) -> Figure:
    """A figure of :func:`tile_filters`: what the first ``n`` hidden units of a layer respond to.

    Examples
    --------
    >>> import numpy as np
    >>> fig = filter_tile(np.random.default_rng(0).normal(size=(784, 16)), n=16)
    >>> fig.get_size_inches().tolist()
    [6.0, 6.0]
    """
    W = as_numpy(weights)  # once: a GPU array is copied to the host one time
    tiled = tile_filters(W, n, image_shape)
    count = min(n, W.shape[1])
    fig = new_figure(6.0, 6.0)
    ax = fig.add_subplot()
    ax.imshow(tiled, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title or f"first {count} filters (columns of W), each scaled to [0, 1]", fontsize=10)
    return finish(fig, path)


def banner_png(path: PathLike, text: str, height: int = 26) -> None:
    """Add a red line of ``text`` above the picture in the PNG file ``path`` (rewritten atomically).

    Used to mark the figures of a smoke run (``--quick``) as such, whatever drew them.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grid.png"
    >>> _ = image_grid([[0.0, 1.0, 1.0, 0.0]], 1, 1, image_shape=(2, 2), path=path)
    >>> banner_png(path, "smoke run")
    >>> from tinyae.plots import check_png
    >>> check_png(path)
    (100, 126)
    """
    from matplotlib.image import imread

    picture = imread(os.fspath(path))
    rows, cols = picture.shape[:2]
    fig = Figure(figsize=(cols / DPI, (rows + height) / DPI), dpi=DPI)
    fig.figimage(picture, xo=0, yo=0)
    size = min(10.0, 0.95 * cols * 72 / DPI / (0.6 * max(len(text), 1)))
    fig.text(
        0.5, 1 - height / 2 / (rows + height), text, ha="center", va="center", color="#b00000", fontsize=size
    )
    save_figure(fig, path)
