"""Optimizers that update parameters in place: ``from tinyae import optim``.

:class:`SGD` (momentum, Nesterov, weight decay), :class:`RMSprop` (plain, centered, momentum) and
:class:`Adam` follow PyTorch's update formulas exactly; :func:`clip_grad_norm_` rescales gradients.  State is
kept per parameter position and saved by ``state_dict()`` as host arrays.

>>> import tinyae
>>> from tinyae import optim
>>> w = tinyae.tensor([3.0], requires_grad=True)
>>> opt = optim.Adam([w], lr=0.1)
>>> for _ in range(100):
...     opt.zero_grad()
...     (w * w).sum().backward()
...     opt.step()
>>> abs(w.item()) < 0.1
True
"""

from tinyae.optim.adam import Adam
from tinyae.optim.clip import clip_grad_norm_
from tinyae.optim.optimizer import Optimizer
from tinyae.optim.rmsprop import RMSprop
from tinyae.optim.sgd import SGD

__all__ = ["SGD", "Adam", "Optimizer", "RMSprop", "clip_grad_norm_"]
