"""``BatchNorm1d``: batch normalisation of (batch, features) inputs, with running averages as buffers."""

from __future__ import annotations

from tinyae.autograd import no_grad
from tinyae.backend import Backend, dtype_name, get_backend
from tinyae.functional import batch_norm
from tinyae.nn.module import Module, placement
from tinyae.nn.parameter import Parameter
from tinyae.tensor import Tensor

__all__ = ["BatchNorm1d"]


class BatchNorm1d(Module):
    """Normalise each feature over the batch, then scale by ``weight`` (gamma) and shift by ``bias`` (beta).

    In training mode the batch's mean and (biased) variance normalise it, and afterwards the running
    averages become ``(1 - momentum) * old + momentum * batch`` (with the unbiased batch variance, as in
    PyTorch, or with the biased one, as ``tf.nn.moments`` feeds ``tf.train.ExponentialMovingAverage``).
    In evaluation mode the running averages normalise the input and nothing changes.  The op
    :func:`tinyae.functional.batch_norm` computes the new averages; this module stores them, outside the
    graph.

    Parameters
    ----------
    num_features : int
        Number of features (columns of the input).
    momentum : float
        Weight of the newest batch in the running averages: ``1 - decay`` of TensorFlow's
        ``ExponentialMovingAverage(decay)`` (0.1: a decay of 0.9).
    eps : float
        Added to the variance before the square root (TensorFlow posts often use 1e-3).
    unbiased_running_var : bool
        True (PyTorch's rule): the running variance averages ``sum (x - mean)^2 / (n - 1)``; False
        (``tf.nn.moments``): it averages the variance that normalised the batch, ``/ n``.
    affine : bool
        Whether to learn ``weight`` (ones at first) and ``bias`` (zeros).
    dtype : str
        ``"float32"`` (default) or ``"float64"``.
    backend : str or Backend, optional
        Where the parameters and buffers live; the current default backend when None.

    Attributes
    ----------
    weight, bias : Parameter or None
        Shape (num_features,).
    running_mean, running_var : Tensor
        Buffers of shape (num_features,), starting at zeros and ones; saved in ``state_dict``.

    Examples
    --------
    >>> import tinyae
    >>> from tinyae import nn
    >>> bn = nn.BatchNorm1d(2)
    >>> y = bn(tinyae.tensor([[1.0, 2.0], [3.0, 6.0]]))
    >>> bn.running_mean
    tensor([0.2, 0.4], dtype=float32)
    """

    running_mean: Tensor
    running_var: Tensor

    def __init__(
        self,
        num_features: int,
        momentum: float = 0.1,
        eps: float = 1e-5,
        affine: bool = True,
        unbiased_running_var: bool = True,
        dtype: str = "float32",
        backend: str | Backend | None = None,
    ) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"BatchNorm1d needs num_features >= 1, got {num_features}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d needs 0 <= momentum <= 1, got {momentum}")
        if eps <= 0:
            raise ValueError(f"BatchNorm1d needs eps > 0, got {eps}")
        self.num_features = int(num_features)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.unbiased_running_var = bool(unbiased_running_var)
        target = get_backend(backend)
        xp, kind = target.xp, target.dtype(dtype)
        shape = (self.num_features,)
        self.weight: Parameter | None = (
            Parameter(xp.ones(shape, dtype=kind), backend=target) if affine else None
        )
        self.bias: Parameter | None = (
            Parameter(xp.zeros(shape, dtype=kind), backend=target) if affine else None
        )
        self.register_buffer("running_mean", Tensor(xp.zeros(shape, dtype=kind), backend=target))
        self.register_buffer("running_var", Tensor(xp.ones(shape, dtype=kind), backend=target))

    def forward(self, x: Tensor) -> Tensor:
        """(batch, num_features) -> same shape; in training mode the batch needs 2 or more rows."""
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) needs input of shape (batch, {self.num_features}), "
                f"got {x.shape}"
            )
        if x.dtype != self.running_mean.dtype:
            # NumPy would quietly promote and the running averages would change dtype
            raise TypeError(
                f"BatchNorm1d holds {dtype_name(self.running_mean.dtype)} statistics but got "
                f"{dtype_name(x.dtype)} input; build it with dtype={dtype_name(x.dtype)!r}"
            )
        result = batch_norm(
            x,
            self.weight,
            self.bias,
            self.running_mean,
            self.running_var,
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )
        if self.training:
            with no_grad():  # running averages are state, not part of any graph
                self.running_mean.data = result.running_mean.data
                new_var = result.running_var.data
                if not self.unbiased_running_var:
                    # the op added momentum * var * n/(n-1); take back the factor n/(n-1) from that term
                    n, kept = x.shape[0], (1 - self.momentum) * self.running_var.data
                    new_var = kept + (new_var - kept) * ((n - 1) / n)
                self.running_var.data = new_var
        return result.output

    def extra_repr(self) -> str:
        text = f"{self.num_features}, eps={self.eps:g}, momentum={self.momentum:g}"
        if not self.unbiased_running_var:
            text += ", unbiased_running_var=False"
        if self.weight is None:
            text += ", affine=False"
        return text + placement(self.running_mean)
