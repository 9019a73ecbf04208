"""The ops and losses, as functions of tensors: ``import tinyae.functional as F``.

Each is a :class:`~tinyae.tensor.Function` subclass (``forward``/``backward`` on plain arrays) behind a
lowercase wrapper whose docstring gives the formula, its derivative and the shapes.  The modules:

- :mod:`~tinyae.functional.basic`: ``linear`` (``x @ W + b``), ``exp``, ``log``, ``sqrt``, ``square``
- :mod:`~tinyae.functional.activations`: ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``softplus``,
  ``log_sigmoid``, ``softmax``, ``log_softmax``
- :mod:`~tinyae.functional.normalization`: ``batch_norm``
- :mod:`~tinyae.functional.stochastic`: ``reparameterize``, ``masking_noise``, ``gaussian_noise``, ``dropout``
- :mod:`~tinyae.functional.losses`: ``mse_loss``, ``l2_loss``, ``binary_cross_entropy``,
  ``binary_cross_entropy_with_logits``, ``gaussian_kl``, ``kl_sparsity``, ``cross_entropy``

>>> import tinyae, tinyae.functional as F
>>> x = tinyae.tensor([[0.5, -1.0]], requires_grad=True)
>>> loss = F.binary_cross_entropy_with_logits(x, tinyae.tensor([[1.0, 0.0]]))
>>> loss.backward()
>>> x.grad.shape
(1, 2)
"""

from tinyae.functional.activations import (
    leaky_relu,
    log_sigmoid,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softplus,
    tanh,
)
from tinyae.functional.basic import exp, linear, log, matmul, sqrt, square
from tinyae.functional.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gaussian_kl,
    kl_sparsity,
    l2_loss,
    mse_loss,
)
from tinyae.functional.normalization import BatchNormResult, batch_norm
from tinyae.functional.stochastic import dropout, gaussian_noise, masking_noise, reparameterize

__all__ = [
    "BatchNormResult",
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "exp",
    "gaussian_kl",
    "gaussian_noise",
    "kl_sparsity",
    "l2_loss",
    "leaky_relu",
    "linear",
    "log",
    "log_sigmoid",
    "log_softmax",
    "masking_noise",
    "matmul",
    "mse_loss",
    "relu",
    "reparameterize",
    "sigmoid",
    "softmax",
    "softplus",
    "sqrt",
    "square",
    "tanh",
]
