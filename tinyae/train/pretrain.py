"""Pretraining a stacked autoencoder: greedy layer-wise (Bengio et al., 2007; Vincent et al., 2010) or
end to end (the whole 784-256-128-256-784 network at once, as the TensorFlow stacked autoencoder post does).

Layer 0 is trained as a one-hidden-layer autoencoder of the data; layer 1 as an autoencoder of layer 0's
codes; and so on, each layer on the codes of the (already trained, now fixed) layers below it.  The
stacked model provides the pieces, and this module only runs :func:`~tinyae.train.fit` on each:

- ``stacked.num_layers``: how many layers there are,
- ``stacked.layer_autoencoder(i)``: layer ``i`` as a model with ``loss`` that shares the stacked model's
  parameters (training it trains them),
- ``stacked.layer_inputs(x, i)``: the codes of layers ``0 .. i-1`` for a batch ``x``, without a graph.

The codes of the whole data set are computed once per layer (in evaluation mode), not once per epoch:
the layers below do not change while layer ``i`` trains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tinyae.autograd import no_grad
from tinyae.data import DataLoader
from tinyae.train.batches import placement
from tinyae.train.callbacks import Callback
from tinyae.train.evaluate import evaluation_mode
from tinyae.train.history import History
from tinyae.train.loop import fit

__all__ = ["layer_codes", "pretrain_end_to_end", "pretrain_greedy"]


def pretrain_greedy(
    stacked: Any,
    optimizer_factory: Callable[[Iterable[Any]], Any],
    data: Any,
    epochs: int | Sequence[int],
    batch_size: int = 64,
    val_data: Any = None,
    shuffle: bool = True,
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> list[History]:
    """Train each layer of ``stacked`` in turn, bottom up, as an autoencoder of the codes below it.

    Parameters
    ----------
    stacked : model
        With ``num_layers``, ``layer_autoencoder(i)`` and ``layer_inputs(x, i)`` (see the module docstring),
        such as :class:`tinyae.models.StackedAutoencoder`.
    optimizer_factory : callable
        ``parameters -> optimizer``, called once per layer, e.g. ``lambda p: optim.Adam(p, lr=1e-3)``.
    data : array, (inputs, labels) or DataLoader
        The inputs (labels, if any, are not used: pretraining is unsupervised).
    epochs : int or sequence of int
        Epochs for every layer, or one number per layer.
    batch_size, val_data, shuffle, seed, callbacks, progress
        As for :func:`~tinyae.train.fit`; layer ``i`` uses seed ``seed + i``.  The callbacks receive the
        layer's model; :class:`~tinyae.train.EarlyStopping` starts afresh for each layer.

    Returns
    -------
    list of History
        One per layer, bottom first.

    Examples
    --------
    >>> from tinyae import models, optim
    >>> from tinyae.data import load_mnist_sample
    >>> x = load_mnist_sample()[0][:256]
    >>> stacked = models.StackedAutoencoder([784, 64, 16])
    >>> histories = pretrain_greedy(stacked, lambda p: optim.Adam(p, lr=1e-3), x, epochs=2, progress=False)
    >>> [len(h) for h in histories]
    [2, 2]
    """
    layers = int(stacked.num_layers)
    per_layer = [int(epochs)] * layers if isinstance(epochs, int) else [int(e) for e in epochs]
    if len(per_layer) != layers:
        raise ValueError(f"epochs lists {len(per_layer)} numbers for a model of {layers} layers")
    inputs = _inputs_of(data)
    val_inputs = None if val_data is None else _inputs_of(val_data)
    histories = []
    for i in range(layers):
        layer = stacked.layer_autoencoder(i)
        codes = layer_codes(stacked, inputs, i, batch_size)
        val_codes = None if val_inputs is None else layer_codes(stacked, val_inputs, i, batch_size)
        history = fit(
            layer,
            optimizer_factory(layer.parameters()),
            codes,
            per_layer[i],
            batch_size=batch_size,
            val_data=val_codes,
            shuffle=shuffle,
            seed=seed + i,
            callbacks=callbacks,
            progress=progress,
        )
        histories.append(history)
    return histories


def pretrain_end_to_end(
    stacked: Any,
    optimizer: Any,
    data: Any,
    epochs: int,
    batch_size: int = 256,
    val_data: Any = None,
    shuffle: bool = True,
    seed: int = 0,
    callbacks: Sequence[Callback] = (),
    progress: bool = True,
) -> History:
    """Train every layer of ``stacked`` at once to reconstruct the inputs, labels ignored.

    This is how the TensorFlow stacked autoencoder post pretrains: one deep autoencoder, one loss on the
    final reconstruction, before the encoder is reused under a softmax layer.  Greedy layer-wise
    pretraining (:func:`pretrain_greedy`) gives each layer a loss of its own instead.

    Parameters are those of :func:`~tinyae.train.fit`, with ``optimizer`` built on
    ``stacked.parameters()``; ``data`` may be an array, ``(inputs, labels)`` or a DataLoader.

    Examples
    --------
    >>> from tinyae import models, optim
    >>> from tinyae.data import load_mnist_sample
    >>> x, y = load_mnist_sample()
    >>> stacked = models.StackedAutoencoder([784, 64, 16])
    >>> history = pretrain_end_to_end(stacked, optim.Adam(stacked.parameters()), (x[:256], y[:256]), 2,
    ...                               progress=False)
    >>> len(history.loss)
    2
    """
    inputs = _inputs_of(data)
    val_inputs = None if val_data is None else _inputs_of(val_data)
    return fit(
        stacked,
        optimizer,
        inputs,
        int(epochs),
        batch_size=batch_size,
        val_data=val_inputs,
        shuffle=shuffle,
        seed=seed,
        callbacks=callbacks,
        progress=progress,
    )


def layer_codes(stacked: Any, inputs: Any, i: int, batch_size: int = 256) -> Any:
    """The inputs of layer ``i`` for every sample: ``inputs`` through layers ``0 .. i-1``, as one array on
    the model's backend (computed batch by batch, in evaluation mode, without a graph)."""
    backend, _ = placement(stacked)
    loader = DataLoader(inputs, batch_size=batch_size, shuffle=False, backend=backend)
    chunks = []
    with evaluation_mode(stacked), no_grad():
        for x in loader:
            chunks.append(stacked.layer_inputs(x, i).data)
    return backend.xp.concat(chunks, axis=0)


def _inputs_of(data: Any) -> Any:
    """The input array of ``data`` (an array, a tuple whose first item is the inputs, or a DataLoader)."""
    if isinstance(data, DataLoader):
        return data.images
    if isinstance(data, tuple):
        return data[0]
    return data
