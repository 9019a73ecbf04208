"""The ``tinyae`` command: ``tinyae info``, ``tinyae train MODEL`` and ``tinyae tutorial [N]``.

A user's mistake (a bad flag, missing data, a path that cannot be written, a NaN loss) ends with one line,
``tinyae: error: ...``, and exit status 2; ``--debug`` shows the traceback instead.  Ctrl-C ends with one
line and status 130.  Every check on arguments and paths runs before training starts.

>>> main(["info"])  # doctest: +ELLIPSIS
tinyae ...
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import tinyae
from tinyae import data, plots, threads, train
from tinyae.data import sources
from tinyae.train.recipes import RECIPES, Recipe

__all__ = [
    "RECIPES",
    "Recipe",
    "UserError",
    "finish_tutorial",
    "list_tutorials",
    "main",
    "start_tutorial",
    "tutorial_parser",
]

TUTORIALS = Path(__file__).resolve().parent.parent / "tutorials"
QUICK = 500  # training images in a --quick run
SMOKE = "smoke run (--quick: 500 images, 1 epoch): the model is barely trained"
_SMOKE_RUNS: set[Path] = set()  # output folders of --quick tutorial runs in this process


class UserError(Exception):
    """A mistake in the command line or its files: reported as one ``tinyae: error: ...`` line."""


class Parser(argparse.ArgumentParser):
    """argparse, with errors as one line (``tinyae: error: ...``) and, inside a Jupyter kernel, the
    kernel's own arguments (``-f kernel.json``) ignored, so that tutorials also run as notebooks."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if args is None and "ipykernel" in sys.modules:
            args = []  # sys.argv is the kernel's command line, not the user's
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        prog = "tinyae" if self.prog.startswith("tinyae") else self.prog
        self.exit(2, f"{prog}: error: {message} (see {self.prog} --help)\n")


# --- argument types: each refuses what it cannot use, by name ----------------------------------------------
def _integer(minimum: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


positive_int = _integer(1)  # --epochs, --batch-size: 0 is refused, never replaced by a default
seed_int = _integer(0)


def learning_rate(text: str) -> float:
    """A finite number > 0 (``--lr``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def backend_name(text: str) -> str:
    """A registered backend (whether it can run here is checked when it is chosen)."""
    if text not in tinyae.available_backends():
        raise argparse.ArgumentTypeError(
            f"unknown backend {text!r}; choose one of {list(tinyae.available_backends())}"
        )
    return text


# --- paths: checked before any work ------------------------------------------------------------------------
def output_folder(path: str) -> Path:
    """Make ``path`` (a folder for pictures and numbers) or raise :class:`UserError` saying why not."""
    if not path:
        raise UserError("--out is empty: name a folder for the pictures")
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"--out {path}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"--out {path}: cannot create the folder ({error.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise UserError(f"--out {path}: the folder is not writable")
    return folder


def checkpoint_path(path: str) -> Path:
    """Check that a checkpoint can be written to ``path`` (its folder exists and is writable)."""
    if not path:
        raise UserError("--save is empty: name the checkpoint file, e.g. --save ae.safetensors")
    target = Path(path)
    if target.is_dir():
        raise UserError(f"--save {path}: is a folder; name a file inside it")
    folder = target.parent
    if not folder.is_dir():
        raise UserError(f"--save {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise UserError(f"--save {path}: not writable")
    return target


# --- commands -----------------------------------------------------------------------------------------------
def _info(args: argparse.Namespace) -> int:
    print(f"tinyae {tinyae.__version__} (Python {platform.python_version()}, {platform.machine()})")
    print("backends:")
    for name, reason in tinyae.available_backends().items():
        why = None if reason is None else reason.removeprefix(f"backend {name!r} is unavailable: ")
        print(f"  {name:7s} {'available' if why is None else 'unavailable: ' + why}")
    print(f"BLAS: {threads.describe_blas()}")
    print("data:")
    print(f"  sample  embedded, {len(data.load_mnist_sample()[1])} MNIST digits")
    for spec in (sources.MNIST, sources.FASHION_MNIST):
        found = []  # the files themselves, not just a folder (a failed download may leave an empty one)
        for part in ("train", "test"):
            try:
                found.append(f"{part} in {sources.locate(spec, part, download=False)[0].parent}")
            except data.DatasetError:
                found.append(f"{part} not here (downloaded on first use)")
        print(f"  {spec.name:7s} {'; '.join(found)}")
    return 0


def _use_backend(name: str) -> None:
    reason = tinyae.available_backends().get(name)
    if reason is not None:
        raise UserError(f"backend {name!r} is unavailable: {reason}")
    tinyae.set_backend(name)


def _train(args: argparse.Namespace) -> int:
    recipe = RECIPES[args.model]
    save = checkpoint_path(args.save) if args.save is not None else None
    _use_backend(args.backend)
    tinyae.manual_seed(args.seed)
    dataset = load_data(args.data, QUICK if args.quick else None, args.seed, args.data_dir)
    out = output_folder(args.out or f"out/train_{args.model}{'_quick' if args.quick else ''}")
    model = recipe.build("float32", args.backend)
    lr = recipe.lr if args.lr is None else args.lr
    optimizer = recipe.optimizer(model.parameters(), lr)
    epochs = args.epochs or (1 if args.quick else recipe.epochs)
    batch_size = args.batch_size or recipe.batch_size
    print(f"training {type(model).__name__} on {args.data} ({len(dataset.x_train)} images): {recipe.source}")
    print(
        f"  {type(optimizer).__name__} lr {lr:g}, batch {batch_size}, "
        f"{epochs} epoch{'s' * (epochs != 1)}, backend {args.backend}"
    )
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
    smoke = SMOKE if epochs == 1 else f"smoke run (--quick: {QUICK} images, {epochs} epochs)"
    model.eval()
    with tinyae.no_grad():
        shown = dataset.x_test[:10]
        plots.reconstruction_grid(
            shown,
            model(tinyae.tensor(shown, backend=args.backend)),
            path=out / "recon.png",
            title=smoke if args.quick else None,
        )
    plots.loss_curves(history, path=out / "loss.png", title=smoke if args.quick else None)
    numbers = {
        "model": args.model,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "seconds": time.perf_counter() - start,
        "train_loss": history.loss,
        "test_loss": history.val_loss,
    }
    (out / "numbers.json").write_text(json.dumps(numbers, indent=2))
    for epoch, (loss, val) in enumerate(zip(history.loss, history.val_loss, strict=True), 1):
        print(f"epoch {epoch}: train loss {loss:.4f}, test loss {val:.4f}")
    if save is not None:
        tinyae.save(model, save)
        print(f"model saved to {save}")
    print(f"pictures in {out}/: recon.png (inputs above reconstructions), loss.png; numbers in numbers.json")
    return 0


def load_data(name: str, limit: int | None, seed: int = 0, data_dir: str | None = None) -> data.Dataset:
    """:func:`tinyae.data.load_dataset`, with a missing or broken data set as a :class:`UserError`."""
    try:
        return data.load_dataset(name, limit=limit, seed=seed, data_dir=data_dir)
    except data.DatasetError as error:
        first = str(error).splitlines()[0].removesuffix(" Looked in:")
        raise UserError(
            f"{first} Put the files in a folder and pass --data-dir FOLDER (or set TINYAE_DATA); "
            "--debug shows every place searched and the download addresses"
        ) from error


def list_tutorials() -> list[tuple[str, Path]]:
    """``(name, script)`` of every tutorial in the source tree: ``"3"`` for ``tutorials/03_*.py``,
    ``"engine/2"`` for ``tutorials/engine/02_*.py``."""
    found = []
    for folder, prefix in ((TUTORIALS, ""), (TUTORIALS / "engine", "engine/")):
        for script in sorted(folder.glob("[0-9][0-9]_*.py")) if folder.is_dir() else []:
            found.append((f"{prefix}{int(script.name[:2])}", script))
    return found


def _tutorial(args: argparse.Namespace) -> int:
    scripts = dict(list_tutorials())
    if args.number is None:
        if not scripts:
            raise UserError(f"no tutorials in {TUTORIALS}: they ship with the source repository (git clone)")
        for name, script in scripts.items():
            print(
                f"  tinyae tutorial {name:10s} {script.relative_to(TUTORIALS.parent)}: {_first_line(script)}"
            )
        return 0
    name = args.number.removeprefix("engine/").lstrip("0") or "0"
    name = f"engine/{name}" if args.number.startswith("engine/") else name
    if name not in scripts:
        known = ", ".join(scripts) or "none (tutorials ship with the source repository)"
        raise UserError(f"no tutorial {args.number!r}; the tutorials are: {known}")
    child = subprocess.Popen([sys.executable, str(scripts[name]), *args.rest])
    try:
        return child.wait()
    except KeyboardInterrupt:  # Ctrl-C reaches the tutorial too: it says so itself, in one line
        return child.wait() or 130


def _first_line(script: Path) -> str:
    text = script.read_text(encoding="utf-8").lstrip('r"\n ')
    title = text.splitlines()[0] if text else ""
    return title.split(":", 1)[-1].strip().rstrip(".")


# --- helpers for the tutorials ------------------------------------------------------------------------------
def tutorial_parser(name: str, title: str, epochs_help: str) -> argparse.ArgumentParser:
    """The flags every tutorial takes: ``--backend``, ``--data``, ``--data-dir``, ``--quick``, ``--epochs``,
    ``--out``.

    ``name`` is the tutorial's file stem (``"06_contractive_autoencoder"``): its output goes to ``out/<name>``
    by default (``out/<name>_quick`` with ``--quick``).  Add the tutorial's own flags to the returned parser,
    then call :func:`start_tutorial`.  Inside a Jupyter kernel ``parse_args()`` reads no arguments.
    """
    parser = Parser(description=f"tinyae tutorial {int(name[:2])}: {title}")
    parser.add_argument(
        "--backend", default="numpy", type=backend_name, help="numpy (default), strict, or cupy"
    )
    parser.add_argument(
        "--data", default="sample", choices=data.DATASETS, help="sample: 5,000 digits, offline"
    )
    parser.add_argument("--data-dir", metavar="FOLDER", help="a folder holding the MNIST files")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK} images, 1 epoch: a smoke run")
    parser.add_argument("--epochs", type=positive_int, help=epochs_help)
    parser.add_argument("--out", help=f"folder for the PNGs and numbers.json (default out/{name})")
    parser.set_defaults(tutorial=name)
    return parser


def start_tutorial(args: argparse.Namespace) -> tuple[Path, data.Dataset]:
    """Choose the backend, seed everything with 0, make the output folder and load the data (500 images
    with ``--quick``); return the folder and the data set.  Mistakes end the script with one line, and so
    does Ctrl-C (outside Jupyter)."""
    _interrupt_in_one_line()
    try:
        _use_backend(args.backend)
        tinyae.manual_seed(0)
        dataset = load_data(args.data, QUICK if args.quick else None, 0, getattr(args, "data_dir", None))
        out = output_folder(args.out or f"out/{args.tutorial}{'_quick' if args.quick else ''}")
        if args.quick:
            _SMOKE_RUNS.add(out.resolve())
        return out, dataset
    except UserError as error:
        if "ipykernel" in sys.modules:
            raise
        raise SystemExit(f"{Path(sys.argv[0]).name}: error: {error}") from None


def _interrupt_in_one_line() -> None:
    if "ipykernel" in sys.modules or threading.current_thread() is not threading.main_thread():
        return  # in a notebook, Ctrl-C (interrupt the kernel) must not end the kernel

    def stop(signum: int, frame: Any) -> None:
        print("\ninterrupted (Ctrl-C); the figures written so far are kept", file=sys.stderr)
        raise SystemExit(130)

    signal.signal(signal.SIGINT, stop)


def finish_tutorial(out: Path, numbers: dict[str, Any], first_picture: str) -> None:
    """Write the figures' numbers to ``out/numbers.json`` and say where everything went.  After a
    ``--quick`` run every picture gets a banner saying that it shows a smoke run."""
    (out / "numbers.json").write_text(json.dumps(numbers, indent=2))
    if out.resolve() in _SMOKE_RUNS:
        for picture in sorted(out.glob("*.png")):
            plots.banner_png(picture, SMOKE)
    print(f"Done: pictures and numbers.json are in {out}/ (start with {first_picture})")


def _parser() -> argparse.ArgumentParser:
    debug = Parser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    parser = Parser(prog="tinyae", description="tinyae: autoencoders from scratch", parents=[debug])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("info", help="version, backends and why any is unavailable, BLAS, data found")
    fit = commands.add_parser("train", help="train one of the source tutorials' models", parents=[debug])
    fit.add_argument("model", choices=sorted(RECIPES))
    fit.add_argument("--backend", default="numpy", type=backend_name, help="numpy (default), strict, or cupy")
    fit.add_argument("--data", default="sample", choices=data.DATASETS, help="sample (default, offline)")
    fit.add_argument("--data-dir", metavar="FOLDER", help="a folder holding the MNIST files")
    fit.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK} images, 1 epoch")
    fit.add_argument("--epochs", type=positive_int, help="default: the recipe's")
    fit.add_argument("--batch-size", type=positive_int, help="default: the source tutorial's")
    fit.add_argument("--lr", type=learning_rate, help="default: the source tutorial's")
    fit.add_argument("--seed", type=seed_int, default=0)
    fit.add_argument("--out", help="folder for pictures and numbers (default out/train_MODEL[_quick])")
    fit.add_argument("--save", metavar="PATH", help="write a checkpoint here (tinyae.load reads it)")
    fit.add_argument("--quiet", action="store_true", help="no progress bar")
    tutorial = commands.add_parser("tutorial", help="list the tutorials, or run tutorial N (flags go to it)")
    tutorial.add_argument(
        "number", nargs="?", help="3: tutorials/03_*.py; engine/2: tutorials/engine/02_*.py"
    )
    tutorial.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tinyae`` command with ``argv`` (default: the process's arguments); return its exit code."""
    args = _parser().parse_args(argv)
    args.debug = getattr(args, "debug", False)
    handler = {"info": _info, "train": _train, "tutorial": _tutorial}[args.command]
    try:
        with warnings.catch_warnings():
            if not args.debug:  # a NaN loss is reported below in one line, not after NumPy's warnings
                warnings.simplefilter("ignore", RuntimeWarning)
            return handler(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("\ntinyae: interrupted (Ctrl-C)", file=sys.stderr)
        return 130
    except (UserError, FloatingPointError, tinyae.BackendError, tinyae.CheckpointError, OSError) as error:
        if args.debug:
            raise
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        if isinstance(error, FloatingPointError):
            message += " (try a smaller --lr)"
        print(f"tinyae: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
