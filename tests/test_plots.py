"""tinyae.plots: every figure is a real PNG of the expected size, saved atomically; the numbers behind the
figures (filter tiles, latent manifolds, ROC curves, graphs) are checked directly."""

from __future__ import annotations

import doctest
import importlib
import itertools
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure

import tinyae
import tinyae.functional as F
from tinyae import plots
from tinyae.data import load_mnist_sample

RNG_SEED = 0


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    return load_mnist_sample()


def trained_history() -> Any:
    """A real tinyae.train.History from three quick epochs of a tiny autoencoder."""
    from tinyae import models, optim, train

    x = np.random.default_rng(0).random((64, 12), dtype=np.float32)
    model = models.Autoencoder([12, 4], loss="mse")
    return train.fit(model, optim.Adam(model.parameters(), lr=1e-2), x, 3, 16, val_data=x, progress=False)


def _decode(z: np.ndarray) -> np.ndarray:
    """A made-up decoder: a blob that moves right with z[0] and up with z[1]."""
    rows, cols = np.mgrid[0:28, 0:28]
    centre_col, centre_row = 14 + 4 * z[:, 0, None, None], 14 - 4 * z[:, 1, None, None]
    blob = np.exp(-((cols - centre_col) ** 2 + (rows - centre_row) ** 2) / 20.0)
    return blob.reshape(len(z), 784).astype(np.float32)


def _figures(
    digits: tuple[np.ndarray, np.ndarray],
) -> dict[str, tuple[Callable[[Path], Figure], tuple[int, int]]]:
    images, labels = digits
    rng = np.random.default_rng(RNG_SEED)
    noisy = np.clip(images[::250] + rng.normal(0, 0.2, images[::250].shape), 0, 1)
    codes = rng.normal(size=(1000, 2))
    code_labels = rng.integers(0, 10, 1000)
    scores = {"digit 1": rng.normal(1, 0.5, 500), "digit 9": rng.normal(3, 1, 60)}
    y = np.r_[np.zeros(500), np.ones(60)]
    roc = {
        "reconstruction error": (np.r_[scores["digit 1"], scores["digit 9"]], y),
        "noise": (rng.random(560), y),
    }
    W = rng.normal(size=(784, 64)).astype(np.float32)
    parts = {
        "loss": [3.0, 2.0, 1.5],
        "val_loss": [3.2, 2.4, 2.0],
        "parts": {"rec": [2.5, 1.6, 1.2], "kl": [0.5] * 3},
    }
    # name: (draw to a path, (width, height) in pixels at 100 dpi)
    return {
        "image_grid": (
            lambda p: plots.image_grid(images[::250], 4, 5, titles=[str(d) for d in labels[::250]], path=p),
            (500, 400),
        ),
        "reconstruction_grid": (
            lambda p: plots.reconstruction_grid(images[::250], noisy, path=p),
            (1000, 200),
        ),
        "reconstruction_difference": (
            lambda p: plots.reconstruction_grid(images[::250], noisy, n=8, path=p, difference=True),
            (800, 300),
        ),
        "filter_tile": (lambda p: plots.filter_tile(W, n=49, path=p), (600, 600)),
        "loss_curves_parts": (lambda p: plots.loss_curves(parts, path=p, title="VAE"), (1000, 400)),
        # a History whose loss has one part: the parts panel would repeat the total, so it is left out
        "loss_curves_history": (lambda p: plots.loss_curves(trained_history(), path=p), (500, 400)),
        "score_histograms": (lambda p: plots.score_histograms(scores, bins=30, path=p), (600, 400)),
        "roc_plot": (lambda p: plots.roc_plot(roc, path=p), (500, 500)),
        "latent_scatter": (lambda p: plots.latent_scatter(codes, code_labels, path=p), (600, 500)),
        "latent_scatter_colorbar": (lambda p: plots.latent_scatter(codes, codes[:, 0], path=p), (600, 500)),
        "latent_manifold": (lambda p: plots.latent_manifold(_decode, n=9, span=2.0, path=p), (600, 600)),
    }


FIGURE_NAMES = [
    "image_grid",
    "reconstruction_grid",
    "reconstruction_difference",
    "filter_tile",
    "loss_curves_parts",
    "loss_curves_history",
    "score_histograms",
    "roc_plot",
    "latent_scatter",
    "latent_scatter_colorbar",
    "latent_manifold",
]


# --- every figure: a real PNG of the expected size, nothing else left in the folder ------------------------
@pytest.mark.parametrize("name", FIGURE_NAMES)
def test_figure_writes_png_of_expected_size(name: str, tmp_path: Path, digits: Any) -> None:
    draw, size = _figures(digits)[name]
    path = tmp_path / f"{name}.png"
    fig = draw(path)
    assert isinstance(fig, Figure)
    assert plots.check_png(path, min_size=size) == size
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left beside it


def test_figure_table_is_complete(digits: Any) -> None:
    assert sorted(_figures(digits)) == sorted(FIGURE_NAMES)


def test_figure_without_path_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fig = plots.score_histograms({"a": [1.0, 2.0, 2.5]})
    assert isinstance(fig, Figure) and list(tmp_path.iterdir()) == []


def test_failed_save_leaves_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "grid.png"
    path.write_bytes(b"old")

    def broken_savefig(self: Figure, fname: Any, **kwargs: Any) -> None:
        fname.write(b"\x89PNG half an image")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.image_grid(np.zeros((4, 784)), 2, 2, path=path)
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]
    assert path.read_bytes() == b"old"


def test_unknown_format_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.png"):
        plots.image_grid(np.zeros((1, 784)), 1, 1, path=tmp_path / "grid.xyz")
    assert list(tmp_path.iterdir()) == []


def test_other_formats_by_suffix(tmp_path: Path) -> None:
    plots.roc_plot({"s": ([0.1, 0.9], [0, 1])}, path=tmp_path / "roc.svg")
    assert (tmp_path / "roc.svg").read_text().lstrip().startswith("<?xml")


def test_tensors_and_backend_arrays_are_accepted(tmp_path: Path) -> None:
    images = np.random.default_rng(RNG_SEED).random((6, 784), dtype=np.float32)
    with tinyae.use_backend("strict") as strict:
        as_tensor = tinyae.tensor(images)
        as_strict_array = strict.asarray(images)
    np.testing.assert_array_equal(plots.as_numpy(as_tensor), images)
    np.testing.assert_array_equal(plots.as_numpy(as_strict_array), images)
    plots.reconstruction_grid(as_tensor, as_strict_array, n=6, path=tmp_path / "r.png")
    assert plots.check_png(tmp_path / "r.png") == (600, 200)


def test_bad_shapes_are_named() -> None:
    with pytest.raises(ValueError, match=r"image_shape"):
        plots.image_grid(np.zeros((3, 100)), 1, 3)
    with pytest.raises(ValueError, match=r"differ in shape"):
        plots.reconstruction_grid(np.zeros((3, 784)), np.zeros((2, 784)))
    with pytest.raises(ValueError, match=r"pass W, not W.T"):
        plots.tile_filters(np.zeros((10, 784)))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plots.latent_scatter(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(TypeError, match="History"):
        plots.loss_curves([1.0, 2.0])
    with pytest.raises(ValueError, match="no 'loss'"):
        plots.loss_curves({"lr": [0.1]})


# --- filter tiles ------------------------------------------------------------------------------------------
def test_tile_filters_scales_each_filter_and_places_separators() -> None:
    rng = np.random.default_rng(RNG_SEED)
    h, w, n = 3, 4, 7
    W = rng.normal(size=(h * w, 9)) * np.arange(1, 10)  # filters on very different scales
    W[:, 2] = 5.0  # a constant filter has no range: drawn as 0
    tiled = plots.tile_filters(W, n=n, image_shape=(h, w), fill=-1.0)
    cols, rows = 3, 3  # ceil(sqrt(7)) columns, ceil(7 / 3) rows
    assert tiled.shape == (rows * h + rows - 1, cols * w + cols - 1)
    separator_rows = [h + (h + 1) * k for k in range(rows - 1)]
    separator_cols = [w + (w + 1) * k for k in range(cols - 1)]
    assert (tiled[separator_rows, :] == -1.0).all() and (tiled[:, separator_cols] == -1.0).all()
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        cell = tiled[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w]
        if k >= n:
            assert (cell == -1.0).all()  # empty cells are filled
        elif k == 2:
            assert (cell == 0.0).all()
        else:
            # filter k is column k of W, min-max scaled on its own, laid out row by row
            column = W[:, k]
            np.testing.assert_allclose(cell, ((column - column.min()) / np.ptp(column)).reshape(h, w))
            assert cell.min() == 0.0 and cell.max() == 1.0


def test_tile_filters_default_is_a_square_of_the_first_hundred() -> None:
    W = np.random.default_rng(RNG_SEED).normal(size=(784, 150))
    tiled = plots.tile_filters(tinyae.tensor(W))
    assert tiled.shape == (10 * 28 + 9, 10 * 28 + 9)
    assert tiled.min() == 0.0 and tiled.max() == 1.0


# --- latent manifold ---------------------------------------------------------------------------------------
def test_manifold_image_layout_follows_the_latent_axes() -> None:
    seen: list[np.ndarray] = []

    def decode(z: np.ndarray) -> np.ndarray:
        seen.append(z)
        # left half of each 2 x 2 image holds z[0], right half z[1]
        return np.stack([z[:, 0], z[:, 1], z[:, 0], z[:, 1]], axis=1)

    big = plots.manifold_image(decode, n=3, span=1.5, image_shape=(2, 2))
    assert seen[0].shape == (9, 2) and seen[0].dtype == np.float32
    assert big.shape == (6, 6)
    np.testing.assert_allclose(big[0, ::2], [-1.5, 0.0, 1.5])  # z[0] grows to the right
    np.testing.assert_allclose(big[::2, 1], [1.5, 0.0, -1.5])  # z[1] grows upwards


# --- ROC curves --------------------------------------------------------------------------------------------
def _auc_of(scores: Any, labels: Any) -> float:
    return plots.auc(*plots.roc_curve(scores, labels)[:2])


def _brute_force_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a random positive > that of a random negative), ties counting one half."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_roc_known_cases() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    assert _auc_of([0.1, 0.2, 0.3, 0.8, 0.9], labels) == 1.0
    assert _auc_of([0.9, 0.8, 0.7, 0.2, 0.1], labels) == 0.0
    assert _auc_of(np.full(5, 0.4), labels) == 0.5
    fpr, tpr, thresholds = plots.roc_curve(np.full(5, 0.4), labels)
    assert fpr.tolist() == [0.0, 1.0] and tpr.tolist() == [0.0, 1.0]
    assert thresholds.tolist() == [np.inf, 0.4]
    # bool labels and a Tensor of scores work the same
    assert _auc_of(tinyae.tensor([0.1, 0.2, 0.3, 0.8, 0.9]), labels.astype(bool)) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_roc_matches_brute_force_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 60)
    labels[:2] = [0, 1]
    scores = rng.integers(0, 8, 60) / 4.0  # few distinct values: many ties, within and across classes
    fpr, tpr, thresholds = plots.roc_curve(scores, labels)
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0
    assert (np.diff(fpr) >= 0).all() and (np.diff(tpr) >= 0).all() and (np.diff(thresholds) < 0).all()
    assert len(thresholds) == len(np.unique(scores)) + 1
    assert plots.auc(fpr, tpr) == pytest.approx(_brute_force_auc(scores, labels), abs=1e-12)


def test_roc_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="both classes"):
        plots.roc_curve([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="0/1"):
        plots.roc_curve([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="NaN"):
        plots.roc_curve([0.1, np.nan], [0, 1])
    with pytest.raises(ValueError, match="length"):
        plots.roc_curve([0.1, 0.2, 0.3], [0, 1])


def test_roc_plot_legend_gives_the_auc() -> None:
    fig = plots.roc_plot({"perfect": ([0.1, 0.9], [0, 1]), "reversed": ([0.9, 0.1], [0, 1])})
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["perfect (AUC = 1.000)", "reversed (AUC = 0.000)", "chance (AUC = 0.5)"]


# --- the computation graph ---------------------------------------------------------------------------------
def _small_loss() -> tuple[tinyae.Tensor, dict[str, tinyae.Tensor]]:
    rng = np.random.default_rng(RNG_SEED)
    x = tinyae.tensor(rng.random((4, 3), dtype=np.float32))
    W = tinyae.tensor(rng.normal(size=(3, 3)).astype(np.float32), requires_grad=True)
    b = tinyae.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    return F.l2_loss(F.sigmoid(F.linear(x, W, b)) - x), {"x": x, "W": W, "b": b}


def test_graph_of_a_small_expression() -> None:
    loss, leaves = _small_loss()
    dot = plots.graph(loss, names=leaves)
    assert dot.startswith("digraph tinyae {") and dot.rstrip().endswith("}")
    nodes = [line for line in dot.splitlines() if "[label=" in line]
    edges = [line for line in dot.splitlines() if "->" in line]
    assert len(nodes) == 4 + 3  # four ops, three leaves: x is used twice but drawn once
    assert len(edges) == 3 + 1 + 2 + 1  # Linear(x, W, b), Sigmoid, Sub(sigmoid, x), L2Loss
    for op in ("Linear", "Sigmoid", "Sub", "L2Loss"):
        assert sum(f'label="{op}\\n' in line for line in nodes) == 1
    assert sum('label="x\\n(4, 3) float32\\nconstant"' in line for line in nodes) == 1
    assert sum('label="W\\n(3, 3) float32\\nrequires_grad"' in line for line in nodes) == 1
    assert sum('label="b\\n(3,) float32\\nrequires_grad"' in line for line in nodes) == 1
    assert sum("peripheries=2" in line for line in nodes) == 1  # the loss
    # x feeds both Linear and Sub
    x_id = next(line.split()[0] for line in nodes if 'label="x\\n' in line)
    assert sum(line.split()[0] == x_id for line in edges) == 2


def test_graph_after_backward_asks_for_retain_graph(tmp_path: Path) -> None:
    loss, _ = _small_loss()
    loss.backward(retain_graph=True)
    assert "L2Loss" in plots.graph(loss)
    loss.backward()
    with pytest.raises(ValueError, match="retain_graph"):
        plots.graph(loss)


def test_graph_of_a_deep_chain_and_of_a_leaf(tmp_path: Path) -> None:
    x = tinyae.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    dot = plots.graph(y)
    assert dot.count('label="Mul') == 3000 and dot.count("->") == 3000
    leaf = plots.graph(x)
    assert leaf.count("[label=") == 1 and "->" not in leaf
    out = plots.write_graph(y, tmp_path / "chain.dot")
    assert out.read_text() == dot and [p.name for p in tmp_path.iterdir()] == ["chain.dot"]


# --- check_png ---------------------------------------------------------------------------------------------
def test_check_png_refuses_what_is_not_a_whole_png(tmp_path: Path) -> None:
    good = tmp_path / "good.png"
    plots.image_grid(np.zeros((1, 784)), 1, 1, path=good)
    data = good.read_bytes()
    assert plots.check_png(good) == (100, 100)
    with pytest.raises(ValueError, match="smaller"):
        plots.check_png(good, min_size=(101, 50))
    cases = {
        "text.png": (b"hello, I am not an image" * 3, "signature"),
        "short.png": (data[:20], "signature"),
        "truncated.png": (data[: len(data) // 2], "IEND"),
        "crc.png": (data[:20] + bytes([data[20] ^ 1]) + data[21:], "CRC"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=message):
            plots.check_png(tmp_path / name)
    assert zlib.crc32(data[12:29]) == int.from_bytes(data[29:33], "big")  # the IHDR CRC check is real


# --- matplotlib hygiene and docs ---------------------------------------------------------------------------
def test_importing_and_drawing_never_touch_pyplot_or_matplotlib_use(tmp_path: Path) -> None:
    script = f"""
import sys, matplotlib
def refuse(*args, **kwargs):
    raise AssertionError("matplotlib.use was called")
matplotlib.use = refuse
import numpy as np
import tinyae.plots as plots
plots.image_grid(np.zeros((2, 784)), 1, 2, path={str(tmp_path / "a.png")!r})
plots.roc_plot({{"s": ([0.1, 0.9], [0, 1])}}, path={str(tmp_path / "b.png")!r})
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


PLOT_MODULES = [
    "tinyae.plots",
    "tinyae.plots._common",
    "tinyae.plots.anomaly",
    "tinyae.plots.curves",
    "tinyae.plots.graph",
    "tinyae.plots.graph_figure",
    "tinyae.plots.images",
    "tinyae.plots.latent",
    "tinyae.plots.png",
]


@pytest.mark.parametrize("name", PLOT_MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_graph_figure_draws_every_node_to_a_png(tmp_path: Path) -> None:
    import tinyae.functional as F

    x = tinyae.tensor(np.ones((2, 3)))
    W = tinyae.tensor(np.full((3, 2), 0.5), requires_grad=True)
    loss = F.l2_loss(F.sigmoid(F.linear(x, W)) - 1.0)
    fig = plots.graph_figure(loss, tmp_path / "graph.png", names={"x": x, "W": W})
    labels = sorted(t.get_text().split("\n")[0] for t in fig.axes[0].texts if t.get_text())
    assert labels == sorted(["L2Loss", "Sub", "Sigmoid", "Linear", "x", "W"])
    plots.check_png(tmp_path / "graph.png", min_size=(400, 150))


def test_roc_curves_that_coincide_stay_visible() -> None:
    perfect = (np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1]))
    fig = plots.roc_plot({"a": perfect, "b": perfect, "c": perfect})
    ax = fig.axes[0]
    curves = ax.lines[:3]
    assert len({str(line.get_linestyle()) for line in curves}) == 3  # each its own dash pattern
    widths = [line.get_linewidth() for line in curves]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]  # later ones inside earlier
    assert ax.get_xlim()[0] < 0  # the curves along x = 0 are not hidden by the left edge


def test_long_titles_fit_inside_the_figure(tmp_path: Path) -> None:
    title = "batch-norm autoencoder (relu): mean L2 error norm per epoch, training and validation, two panels"
    fig = plots.loss_curves({"loss": [3.0, 2.0, 1.0]}, path=tmp_path / "loss.png", title=title)
    fig.canvas.draw()
    box = fig._suptitle.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width  # not clipped at either side
