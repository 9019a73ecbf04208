"""``Linear``: the dense layer ``y = x @ W + b`` with W of shape (in_features, out_features)."""

from __future__ import annotations

from tinyae.backend import Backend, get_backend
from tinyae.functional import linear
from tinyae.nn import init as initializers
from tinyae.nn.module import Module, placement
from tinyae.nn.parameter import Parameter
from tinyae.tensor import Tensor

__all__ = ["Linear"]


class Linear(Module):
    """Dense layer ``y = x @ W + b``, as the source tutorials write it (``tf.matmul(X, W) + b``).

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input and output row.
    bias : bool
        Whether to add a learned bias ``b``.
    init : str or callable
        Weight initialiser: ``"xavier_uniform"`` (default; alias ``"glorot_uniform"``), ``"xavier_normal"``,
        ``"he_normal"`` (alias ``"kaiming_normal"``), ``"he_uniform"``, ``"normal"`` (std 0.01; ``"normal:1"``
        for N(0, 1)), ``"truncated_normal:0.1"``, ``"sigmoid_uniform"``, ``"zeros"``, or a function
        ``shape -> host array`` such as ``lambda s: nn.init.normal(s, std=0.1)``.
    bias_init : str or callable
        The bias's initialiser, the same choices drawn for shape (out_features,): ``"zeros"`` (default), or
        ``"normal:1"`` for the ``tf.random_normal`` biases of some TensorFlow posts.
    dtype : str
        Parameter dtype: ``"float32"`` (default) or ``"float64"`` (gradient checks).
    backend : str or Backend, optional
        Where the parameters live; the current default backend when None.

    Attributes
    ----------
    weight : Parameter
        Shape (in_features, out_features).
    bias : Parameter or None
        Shape (out_features,).

    Examples
    --------
    >>> import tinyae
    >>> from tinyae import nn
    >>> layer = nn.Linear(3, 2)
    >>> layer.weight.shape, layer(tinyae.tensor([[1.0, 2.0, 3.0]])).shape
    ((3, 2), (1, 2))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str | initializers.Initializer = "xavier_uniform",
        bias_init: str | initializers.Initializer = "zeros",
        dtype: str = "float32",
        backend: str | Backend | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got in={in_features}, out={out_features}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        target = get_backend(backend)
        shape = (self.in_features, self.out_features)
        values = initializers.resolve(init)(shape)  # host float64, drawn from the seeded host generator
        if tuple(values.shape) != shape:
            raise ValueError(f"initialiser {init!r} returned shape {tuple(values.shape)}, expected {shape}")
        self.weight = Parameter(values, dtype=dtype, backend=target)
        if bias:
            values = initializers.resolve(bias_init)((self.out_features,))  # after W: seeds keep W's values
            if tuple(values.shape) != (self.out_features,):
                raise ValueError(
                    f"bias initialiser {bias_init!r} returned shape {tuple(values.shape)}, "
                    f"expected {(self.out_features,)}"
                )
            self.bias: Parameter | None = Parameter(values, dtype=dtype, backend=target)
        else:
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        """(..., in_features) -> (..., out_features)."""
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        text = (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        )
        return text + placement(self.weight)
