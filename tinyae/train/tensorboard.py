"""``TensorBoard``: a ``fit`` callback that writes what TensorBoard shows, as the TensorFlow posts did.

After every epoch it writes, under ``log_dir``:

- scalars ``loss/train``, ``loss/val`` and one per loss part (``parts/kl``, ``val_parts/kl``, ...),
- ``lr``: the optimizer's learning rate (as a scheduler changes it),
- images: a few inputs (once) and their reconstructions (every epoch) as 28 x 28 pictures,
- histograms of every parameter (``encoder.0.linear.weight``, ...).

Pass its :meth:`~TensorBoard.on_batch_end` to ``fit`` too for the loss of every step.  The files are
TensorBoard event files, written by the small ``tensorboardX`` package (no TensorFlow):
``pip install -e ".[tensorboard]"``, then ``tensorboard --logdir runs`` (TensorBoard is installed apart).

>>> from tinyae import models, optim, train
>>> from tinyae.data import load_mnist_sample
>>> import tempfile
>>> x = load_mnist_sample()[0][:256]
>>> model = models.Autoencoder([784, 32])
>>> adam = optim.Adam(model.parameters(), lr=1e-3)
>>> board = TensorBoard(tempfile.mkdtemp(), optimizer=adam, images=x[:8])  # doctest: +SKIP
>>> _ = train.fit(model, adam, x, 2, callbacks=[board], on_batch_end=board.on_batch_end)  # doctest: +SKIP
>>> board.close()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

from tinyae.autograd import no_grad
from tinyae.train.history import History

__all__ = ["TensorBoard"]


class TensorBoard:
    """Write loss parts, learning rate, reconstructions and weight histograms as TensorBoard event files.

    Parameters
    ----------
    log_dir : path
        The run's folder (TensorBoard compares the runs in the folders below ``--logdir``).
    optimizer : Optimizer, optional
        Its ``lr`` is logged every epoch.
    images : array, optional
        (n, 784) inputs whose reconstructions are logged every epoch (``image_shape`` pictures).
    histograms : bool
        Log a histogram of every parameter each epoch.
    image_shape : (int, int)
        The picture shape of one input row.
    """

    def __init__(
        self,
        log_dir: str | os.PathLike[str] = "runs/tinyae",
        optimizer: Any = None,
        images: Any = None,
        histograms: bool = True,
        image_shape: tuple[int, int] = (28, 28),
    ) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError(
                'TensorBoard logging needs tensorboardX: pip install -e ".[tensorboard]" (from a clone)'
            ) from None
        self.log_dir = os.fspath(log_dir)
        self.writer = SummaryWriter(logdir=self.log_dir)
        self.optimizer = optimizer
        self.images = images
        self.histograms = histograms
        self.image_shape = tuple(image_shape)
        self._shown_inputs = False

    def on_batch_end(self, step: int, parts: dict[str, Any]) -> None:
        """For ``fit(on_batch_end=...)``: the loss of every step as ``step/loss`` (one host read each)."""
        self.writer.add_scalar("step/loss", float(parts["loss"].item()), step)

    def __call__(self, epoch: int, history: History, model: Any) -> None:
        record = history.epochs[-1]
        write = self.writer.add_scalar
        write("loss/train", record["loss"], epoch)
        if record.get("val_loss") is not None:
            write("loss/val", record["val_loss"], epoch)
        for group in ("parts", "val_parts"):
            for name, value in (record.get(group) or {}).items():
                write(f"{group}/{name}", value, epoch)
        if self.optimizer is not None and hasattr(self.optimizer, "lr"):
            write("lr", float(self.optimizer.lr), epoch)
        if self.histograms:
            for name, p in model.named_parameters():
                self.writer.add_histogram(name, p.numpy().reshape(-1), epoch)
        if self.images is not None:
            self._reconstructions(model, epoch)
        self.writer.flush()

    def _reconstructions(self, model: Any, epoch: int) -> None:
        shape = (-1, 1, *self.image_shape)  # NCHW, one grey channel
        if not self._shown_inputs:
            inputs = self.images.numpy() if hasattr(self.images, "numpy") else self.images
            self.writer.add_images("inputs", inputs.reshape(shape), epoch, dataformats="NCHW")
            self._shown_inputs = True
        was_training = model.training
        model.eval()
        try:
            with no_grad():
                output = model(model.as_input(self.images) if hasattr(model, "as_input") else self.images)
        finally:
            model.train(was_training)
        pictures = output.numpy().reshape(shape).clip(0.0, 1.0)
        self.writer.add_images("reconstructions", pictures, epoch, dataformats="NCHW")

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()
