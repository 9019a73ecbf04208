"""The ``tinyae`` command: ``tinyae info``, ``tinyae train MODEL`` and ``tinyae tutorial N``.

>>> main(["info"])  # doctest: +ELLIPSIS
tinyae ...
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tinyae
from tinyae import data, models, optim, plots, train
from tinyae.data import sources

__all__ = ["RECIPES", "Recipe", "finish_tutorial", "main", "start_tutorial", "tutorial_parser"]

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"


@dataclass(frozen=True)
class Recipe:
    """One source tutorial's model and training settings (epochs scaled down for the 4,000-image sample)."""

    build: Callable[[str, str], Any]  # (dtype, backend) -> model
    optimizer: Callable[[Any, float], Any]  # (parameters, lr) -> optimizer
    lr: float
    batch_size: int
    epochs: int
    source: str


def _adam(params: Any, lr: float) -> Any:
    return optim.Adam(params, lr=lr)


def _sgd(params: Any, lr: float) -> Any:
    return optim.SGD(params, lr=lr)


def _rmsprop(params: Any, lr: float) -> Any:
    return optim.RMSprop(params, lr=lr, alpha=0.9)  # TF1's decay 0.9: alpha 0.99 saturates sigmoid layers


RECIPES: dict[str, Recipe] = {
    "ae": Recipe(
        lambda dt, be: models.Autoencoder([784, 500, 300, 20], "relu", loss="l2", dtype=dt, backend=be),
        _adam,
        lr=1e-3,
        batch_size=100,
        epochs=5,
        source="TensorFlow post: 784-500-300-20, ReLU, sigmoid out, l2 loss, Adam, batch 100",
    ),
    "tied": Recipe(
        lambda dt, be: models.TiedAutoencoder(
            [784, 500], activation="sigmoid", loss="bce", dtype=dt, backend=be
        ),
        _sgd,
        lr=0.1,
        batch_size=20,
        epochs=5,
        source="Theano post: tied 784-500, sigmoid, cross-entropy, SGD 0.1, batch 20",
    ),
    "denoising": Recipe(
        lambda dt, be: models.DenoisingAutoencoder([784, 500], tied=True, dtype=dt, backend=be),
        _sgd,
        lr=0.1,
        batch_size=20,
        epochs=5,
        source="Theano post: tied 784-500 with 30% masking noise, SGD 0.1, batch 20",
    ),
    "sparse": Recipe(
        lambda dt, be: models.SparseAutoencoder([784, 196], dtype=dt, backend=be),
        _adam,
        lr=1e-3,
        batch_size=100,
        epochs=10,
        source="UFLDL: sigmoid 784-196, rho 0.05, beta 3, lambda 1e-4",
    ),
    "contractive": Recipe(
        lambda dt, be: models.ContractiveAutoencoder([784, 500], dtype=dt, backend=be),
        _adam,
        lr=1e-3,
        batch_size=100,
        epochs=5,
        source="contractive AE: sigmoid 784-500, lambda 0.1",
    ),
    "bn": Recipe(
        lambda dt, be: models.Autoencoder(
            [784, 400, 300, 200, 20], "relu", loss="l2_norm", batch_norm=True, dtype=dt, backend=be
        ),
        _adam,
        lr=1e-3,
        batch_size=128,
        epochs=5,
        source="batch-norm AE: 784-400-300-200-20, ReLU, decay 0.9, Adam 1e-3, batch 128",
    ),
    "stacked": Recipe(
        lambda dt, be: models.StackedAutoencoder([784, 256, 128], dtype=dt, backend=be),
        _rmsprop,
        lr=0.02,
        batch_size=256,
        epochs=10,
        source="stacked AE: 784-256-128-256-784, sigmoid, MSE, RMSProp 0.02, batch 256",
    ),
    "vae": Recipe(
        lambda dt, be: models.VAE(784, 400, 20, dtype=dt, backend=be),
        _adam,
        lr=1e-3,
        batch_size=128,
        epochs=10,
        source="VAE: 784-400-20, Bernoulli likelihood, Adam 1e-3, batch 128",
    ),
}


def _info(args: argparse.Namespace) -> int:
    print(f"tinyae {tinyae.__version__} (Python {platform.python_version()}, {platform.machine()})")
    print("backends:")
    for name, reason in tinyae.available_backends().items():
        why = None if reason is None else reason.removeprefix(f"backend {name!r} is unavailable: ")
        print(f"  {name:7s} {'available' if why is None else 'unavailable: ' + why}")
    print(f"BLAS: {_blas()}")
    print("data:")
    print(f"  sample  embedded, {len(data.load_mnist_sample()[1])} MNIST digits")
    for spec in (sources.MNIST, sources.FASHION_MNIST):
        places = sources.search_folders(spec, None)
        found = [f"{where}: {folder}" for where, folder in places if folder is not None and folder.is_dir()]
        print(
            f"  {spec.name:7s} {', '.join(found) if found else 'not found locally (downloads on first use)'}"
        )
    return 0


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see it)"
    pools = [
        f"{p.get('internal_api')} {p.get('version')}, {p.get('num_threads')} threads"
        for p in threadpool_info()
    ]
    return "; ".join(pools) or "none found"


def _train(args: argparse.Namespace) -> int:
    recipe = RECIPES[args.model]
    tinyae.manual_seed(args.seed)
    dataset = data.load_dataset(args.data, limit=500 if args.quick else None, seed=args.seed)
    model = recipe.build("float32", args.backend)
    optimizer = recipe.optimizer(model.parameters(), args.lr or recipe.lr)
    epochs = args.epochs or (1 if args.quick else recipe.epochs)
    batch_size = args.batch_size or recipe.batch_size
    print(f"training {type(model).__name__} on {args.data} ({len(dataset.x_train)} images) - {recipe.source}")
    start = time.perf_counter()
    history = train.fit(
        model,
        optimizer,
        dataset.x_train,
        epochs,
        batch_size,
        val_data=dataset.x_test,
        seed=args.seed,
        progress=not args.quiet,
    )
    out = Path(args.out or f"out/train_{args.model}")
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    with tinyae.no_grad():
        shown = dataset.x_test[:10]
        plots.reconstruction_grid(
            shown, model(tinyae.tensor(shown, backend=args.backend)), path=out / "recon.png"
        )
    plots.loss_curves(history, path=out / "loss.png")
    numbers = {
        "model": args.model,
        "epochs": epochs,
        "seconds": time.perf_counter() - start,
        "train_loss": history.loss,
        "test_loss": history.val_loss,
    }
    (out / "numbers.json").write_text(json.dumps(numbers, indent=2))
    for epoch, (loss, val) in enumerate(zip(history.loss, history.val_loss, strict=True), 1):
        print(f"epoch {epoch}: train loss {loss:.4f}, test loss {val:.4f}")
    if args.save:
        tinyae.save(model, args.save)
        print(f"model saved to {args.save}")
    print(f"pictures in {out}/: recon.png (inputs above reconstructions), loss.png; numbers in numbers.json")
    return 0


def _tutorial(args: argparse.Namespace) -> int:
    scripts = sorted(TUTORIALS.glob(f"{args.number:02d}_*.py")) if TUTORIALS.is_dir() else []
    if not scripts:
        print(f"no tutorial {args.number} in {TUTORIALS} (tutorials ship with the source repository)")
        return 2
    return subprocess.call([sys.executable, str(scripts[0]), *args.rest])


def tutorial_parser(name: str, title: str, epochs_help: str) -> argparse.ArgumentParser:
    """The flags every tutorial takes: ``--backend``, ``--data``, ``--quick``, ``--epochs``, ``--out``.

    ``name`` is the tutorial's file stem (``"06_contractive_autoencoder"``): its output goes to ``out/<name>``
    by default.  Add the tutorial's own flags to the returned parser, then call :func:`start_tutorial`.
    """
    parser = argparse.ArgumentParser(description=f"tinyae tutorial {int(name[:2])}: {title}")
    parser.add_argument("--backend", default="numpy", help="numpy (default), strict, or cupy on a GPU")
    parser.add_argument(
        "--data", default="sample", choices=data.DATASETS, help="sample: 5,000 digits, offline"
    )
    parser.add_argument("--quick", action="store_true", help="500 images, 1 epoch (used by the test suite)")
    parser.add_argument("--epochs", type=int, help=epochs_help)
    parser.add_argument("--out", default=f"out/{name}", help="folder for the PNGs and numbers.json")
    return parser


def start_tutorial(args: argparse.Namespace) -> tuple[Path, data.Dataset]:
    """Choose the backend, seed everything with 0, make the output folder and load the data (500 images
    with ``--quick``); return the folder and the data set."""
    tinyae.set_backend(args.backend)
    tinyae.manual_seed(0)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out, data.load_dataset(args.data, limit=500 if args.quick else None)


def finish_tutorial(out: Path, numbers: dict[str, Any], first_picture: str) -> None:
    """Write the figures' numbers to ``out/numbers.json`` and say where everything went."""
    (out / "numbers.json").write_text(json.dumps(numbers, indent=2))
    print(f"Done: pictures and numbers.json are in {out}/ (start with {first_picture})")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinyae", description="tinyae: autoencoders from scratch")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="version, backends and why any is unavailable, BLAS, data found")
    fit = commands.add_parser("train", help="train one of the source tutorials' models")
    fit.add_argument("model", choices=sorted(RECIPES))
    fit.add_argument("--backend", default="numpy", help="numpy (default), strict, or cupy on a GPU")
    fit.add_argument("--data", default="sample", choices=data.DATASETS, help="sample (default, offline)")
    fit.add_argument("--quick", action="store_true", help="500 images, 1 epoch")
    fit.add_argument("--epochs", type=int, help="default: the recipe's")
    fit.add_argument("--batch-size", type=int, help="default: the source tutorial's")
    fit.add_argument("--lr", type=float, help="default: the source tutorial's")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument("--out", help="folder for pictures and numbers (default out/train_MODEL)")
    fit.add_argument("--save", metavar="PATH", help="write a checkpoint here (tinyae.load reads it)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    tutorial = commands.add_parser("tutorial", help="run tutorial N (flags after N go to the tutorial)")
    tutorial.add_argument("number", type=int)
    tutorial.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tinyae`` command with ``argv`` (default: the process's arguments); return its exit code."""
    args = _parser().parse_args(argv)
    handler = {"info": _info, "train": _train, "tutorial": _tutorial}[args.command]
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
