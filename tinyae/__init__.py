"""tinyae: a from-scratch autograd engine for autoencoders, on NumPy, CuPy or any Array-API backend.

>>> import tinyae
>>> import tinyae.functional as F
>>> x = tinyae.tensor([[0.5, -1.0]], requires_grad=True)
>>> loss = F.l2_loss(F.sigmoid(x))
>>> loss.backward()
>>> x.grad.shape
(1, 2)
"""

import logging

from tinyae import data, functional, io, models, nn, optim, train
from tinyae.autograd import enable_grad, is_grad_enabled, no_grad
from tinyae.backend import (
    Backend,
    BackendError,
    available_backends,
    get_backend,
    manual_seed,
    set_backend,
    use_backend,
)
from tinyae.gradcheck import GradcheckError, gradcheck
from tinyae.io import CheckpointError, load, save
from tinyae.summary import summary
from tinyae.tensor import Context, Function, OpError, Tensor, tensor

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "BackendError",
    "CheckpointError",
    "Context",
    "Function",
    "GradcheckError",
    "OpError",
    "Tensor",
    "available_backends",
    "data",
    "enable_grad",
    "functional",
    "get_backend",
    "gradcheck",
    "io",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "models",
    "nn",
    "no_grad",
    "optim",
    "save",
    "set_backend",
    "summary",
    "tensor",
    "train",
    "use_backend",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
