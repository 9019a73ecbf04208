"""Optimizers that update parameters in place: ``from tinyae import optim``.

:class:`SGD` (momentum, Nesterov, weight decay), :class:`RMSprop` (plain, centered, momentum) and
:class:`Adam` follow PyTorch's update formulas exactly, with TensorFlow 1's rules as options (RMSprop's
``initial_accumulator_value`` and ``eps_inside_sqrt``, Adam's ``eps_hat``); :func:`clip_grad_norm_` rescales
gradients.  State is kept per parameter position under the formulas' names (Adam's ``exp_avg`` is m,
``exp_avg_sq`` is v) and saved by ``state_dict()`` as host arrays; settings and loaded state are checked.
:mod:`tinyae.optim.lr_scheduler` has PyTorch's learning-rate schedulers (:class:`StepLR`,
:class:`ExponentialLR`, :class:`CosineAnnealingLR`, :class:`ReduceLROnPlateau`), also importable from here.

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

from tinyae.optim import lr_scheduler
from tinyae.optim.adam import Adam
from tinyae.optim.clip import clip_grad_norm_
from tinyae.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, ReduceLROnPlateau, StepLR
from tinyae.optim.optimizer import Optimizer
from tinyae.optim.rmsprop import RMSprop
from tinyae.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adam",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "StepLR",
    "clip_grad_norm_",
    "lr_scheduler",
]
