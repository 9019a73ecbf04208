"""What every figure function shares: host arrays from anything, new figures, atomic saving.

Figures are made with :class:`matplotlib.figure.Figure` directly, never with ``pyplot``: no global figure
list to leak into, no display needed, nothing to close.  The PNG renderer (Agg) is picked by
``savefig`` from the file format, so no backend is ever selected here.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinyae.backend import backend_of
from tinyae.data.fileio import atomic_write
from tinyae.tensor import Tensor

__all__ = [
    "DPI",
    "PathLike",
    "as_numpy",
    "check_image_shape",
    "figure_title",
    "finish",
    "new_figure",
    "save_figure",
]

DPI = 100  # figure sizes below are in inches; at 100 dpi a 6 x 4 figure is a 600 x 400 PNG

PathLike = str | os.PathLike[str]


def as_numpy(x: Any) -> np.ndarray:
    """A NumPy array from a Tensor, a backend array (NumPy, CuPy, strict) or Python data.

    Tensors are copied to the host with ``.numpy()``, backend arrays with their backend's ``to_numpy``;
    lists and numbers go through :func:`numpy.asarray`.

    Examples
    --------
    >>> import tinyae
    >>> as_numpy(tinyae.tensor([1.0, 2.0]))
    array([1., 2.], dtype=float32)
    >>> as_numpy([[1, 2]]).shape
    (1, 2)
    """
    if isinstance(x, Tensor):
        return x.numpy()
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float, bool)):
        return np.asarray(x)
    return backend_of(x).to_numpy(x)


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches at :data:`DPI`, with constrained layout (no overlaps)."""
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save_figure(fig: Figure, path: PathLike) -> Path:
    """Write ``fig`` to ``path`` (PNG unless the suffix names another format matplotlib knows).

    The image is written to a temporary file in the same folder and renamed into place, so ``path``
    holds either its old content or the whole new image, never part of one.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> fig = new_figure(2, 1)
    >>> out = save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "empty.png")
    >>> out.name
    'empty.png'
    """
    target = Path(path)
    fmt = target.suffix[1:].lower() or "png"
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(
            f"cannot save a figure as {target.name!r}: use one of .{', .'.join(sorted(supported))}"
        )
    with atomic_write(target) as handle:
        fig.savefig(handle, format=fmt, dpi=DPI)
    return target


def figure_title(fig: Figure, title: str, largest: float = 12.0) -> None:
    """Put ``title`` above the figure, in a font small enough (and wrapped if need be) to fit its width.

    A suptitle is not clipped by constrained layout but may run past the figure's edges; a character is
    about 0.6 of the font size wide, so the size follows from the width in points.
    """
    width_pt = fig.get_figwidth() * 72 * 0.95
    size = min(largest, width_pt / (0.6 * max(len(title), 1)))
    if size < 8.0:  # too long for one line at a readable size: wrap it
        size = 8.0
        title = "\n".join(textwrap.wrap(title, width=max(int(width_pt / (0.6 * size)), 10)))
    fig.suptitle(title, fontsize=size)


def finish(fig: Figure, path: PathLike | None) -> Figure:
    """Save ``fig`` when a path is given and hand it back (the common tail of every figure function)."""
    if path is not None:
        save_figure(fig, path)
    return fig


def check_image_shape(size: int, image_shape: tuple[int, ...], what: str) -> None:
    """Raise a ValueError unless ``size`` values make one image of ``image_shape``."""
    if size != int(np.prod(image_shape)):
        raise ValueError(
            f"{what} of {size} values cannot be shown as images of shape {tuple(image_shape)} "
            f"({int(np.prod(image_shape))} values); pass image_shape="
        )
