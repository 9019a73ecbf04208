"""Training: the fit loop, evaluation, history, callbacks and greedy layer-wise pretraining.

- :func:`fit`: mini-batch training of any model with ``loss(*batch, rng=None) -> (total, parts)``; returns
  a :class:`History` of per-epoch losses, loss parts, validation losses and seconds.  Stops with a
  ``FloatingPointError`` naming the step and the loss parts when the loss becomes NaN or infinite.
- :func:`evaluate`: mean loss and parts over a data set, in evaluation mode, without a graph.
- Callbacks, run after every epoch: :class:`EarlyStopping`, :class:`Checkpoint`, or any callable
  ``(epoch, history, model)`` that returns True or raises :class:`StopTraining` to stop.
- :func:`pretrain_greedy`: train a stacked autoencoder layer by layer; :func:`pretrain_end_to_end`: all
  layers at once.
- :class:`TensorBoard`: a callback writing TensorBoard event files (needs ``tensorboardX``).
- ``fit`` options: ``clip_grad_norm=``, ``scheduler=`` (PyTorch's ``step()`` protocol), ``on_batch_end=``.

>>> import numpy as np
>>> from tinyae import models, optim, train
>>> x = np.random.default_rng(0).random((128, 20), dtype=np.float32)
>>> model = models.Autoencoder([20, 8], loss="mse")
>>> history = train.fit(model, optim.Adam(model.parameters(), lr=1e-2), x, epochs=3, batch_size=32)
>>> len(history.loss), sorted(history.parts)
(3, ['reconstruction'])
"""

from tinyae.train.callbacks import Callback, Checkpoint, EarlyStopping, StopTraining
from tinyae.train.evaluate import evaluate, evaluation_mode
from tinyae.train.history import History
from tinyae.train.loop import fit
from tinyae.train.meter import LossMeter
from tinyae.train.pretrain import layer_codes, pretrain_end_to_end, pretrain_greedy
from tinyae.train.tensorboard import TensorBoard

__all__ = [
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "History",
    "LossMeter",
    "StopTraining",
    "TensorBoard",
    "evaluate",
    "evaluation_mode",
    "fit",
    "layer_codes",
    "pretrain_end_to_end",
    "pretrain_greedy",
]
