"""Figures for autoencoders, drawn with matplotlib and saved to files (no display needed).

- Images: :func:`image_grid`, :func:`reconstruction_grid`, :func:`filter_tile` (and the array behind it,
  :func:`tile_filters`).
- Training: :func:`loss_curves` from a ``tinyae.train.History`` or a dict.
- Anomaly scores: :func:`score_histograms`, :func:`roc_curve`, :func:`auc`, :func:`roc_plot`.
- Latent spaces: :func:`latent_scatter`, :func:`latent_manifold` (and :func:`manifold_image`).
- The computation graph as Graphviz DOT text (:func:`graph`, :func:`write_graph`) or as a matplotlib
  figure (:func:`graph_figure`, a PNG without Graphviz).
- :func:`check_png`: is a file a whole PNG of at least a given size?  :func:`banner_png` marks one.

Every figure function takes NumPy arrays or Tensors (of any backend), returns a
:class:`matplotlib.figure.Figure` and, given ``path=``, saves it atomically (PNG by default; the file's
suffix picks another format).  Figures never touch ``pyplot``: nothing global, nothing to close.  This is
the only tinyae package that imports matplotlib.

>>> import numpy as np
>>> from tinyae import plots
>>> fpr, tpr, _ = plots.roc_curve(np.array([0.2, 0.9, 0.4]), np.array([0, 1, 1]))
>>> plots.auc(fpr, tpr)
1.0
"""

from tinyae.plots._common import as_numpy, save_figure
from tinyae.plots.anomaly import auc, roc_curve, roc_plot, score_histograms
from tinyae.plots.curves import loss_curves
from tinyae.plots.graph import graph, write_graph
from tinyae.plots.graph_figure import graph_figure
from tinyae.plots.images import banner_png, filter_tile, image_grid, reconstruction_grid, tile_filters
from tinyae.plots.latent import latent_manifold, latent_scatter, manifold_image
from tinyae.plots.png import check_png

__all__ = [
    "as_numpy",
    "auc",
    "banner_png",
    "check_png",
    "filter_tile",
    "graph",
    "graph_figure",
    "image_grid",
    "latent_manifold",
    "latent_scatter",
    "loss_curves",
    "manifold_image",
    "reconstruction_grid",
    "roc_curve",
    "roc_plot",
    "save_figure",
    "score_histograms",
    "tile_filters",
    "write_graph",
]
