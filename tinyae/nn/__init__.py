"""Layers and models as objects that own their parameters: ``from tinyae import nn``.

- :class:`Parameter`: a tensor a module registers and an optimizer trains.
- :class:`Module`: registration in order, ``parameters()`` (each once), ``state_dict()``,
  ``train()``/``eval()``, ``to(backend)``.
- Layers: :class:`Linear` (``x @ W + b``, W of shape (in, out)), :class:`BatchNorm1d`, :class:`Sequential`,
  and the activations :class:`Sigmoid`, :class:`Tanh`, :class:`ReLU`, :class:`LeakyReLU`, :class:`Softplus`,
  :class:`Identity`.
- :mod:`tinyae.nn.init`: Xavier/Glorot, He and normal initialisers, drawn on the seeded host generator.

>>> import tinyae
>>> from tinyae import nn
>>> tinyae.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(4, 2), nn.Sigmoid(), nn.Linear(2, 4))
>>> model(tinyae.tensor([[0.0, 1.0, 2.0, 3.0]])).shape
(1, 4)
"""

from tinyae.nn import init
from tinyae.nn.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softplus, Tanh
from tinyae.nn.batchnorm import BatchNorm1d
from tinyae.nn.containers import Sequential
from tinyae.nn.linear import Linear
from tinyae.nn.module import IncompatibleKeys, Module
from tinyae.nn.parameter import Parameter

__all__ = [
    "BatchNorm1d",
    "Identity",
    "IncompatibleKeys",
    "LeakyReLU",
    "Linear",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "init",
]
