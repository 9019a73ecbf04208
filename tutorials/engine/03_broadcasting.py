"""Engine step 3: broadcasting, and why the gradient of a broadcast input is a sum.

What is new: inputs of different shapes.  ``x @ W + b`` adds a bias of shape (out,) to a batch of shape
(batch, out): NumPy *broadcasts* b, as if it were copied into every row.  Each copy then receives its own
gradient, and since all the copies are the same number b_j, dL/db_j is the sum of the copies' gradients,
over the batch axis.  We write that "sum back" rule (``unbroadcast``) by hand, see that it is what
tinyae gives, and see that the backward *driver*, not each op, applies it.

Run it:  python tutorials/engine/03_broadcasting.py
"""

# %%
import numpy as np

import tinyae

rng = np.random.default_rng(0)
x = tinyae.tensor(rng.normal(size=(4, 3)), dtype="float64", requires_grad=True)
b = tinyae.tensor(rng.normal(size=3), dtype="float64", requires_grad=True)
y = x + b  # (4, 3) + (3,) -> (4, 3): b is added to each of the 4 rows
print("x", x.shape, "+ b", b.shape, "->", y.shape)

# %% [markdown]
# ## Why a sum: nudge one bias entry
# Moving b[0] by eps moves all 4 entries of column 0.  With a loss `L = sum(G * y)` (any upstream
# gradient G), L moves by eps times the sum of column 0 of G.

# %%
G = rng.normal(size=(4, 3))  # dL/dy, as some later layer would send it back


def loss(bias: np.ndarray) -> float:
    return float(np.sum(G * (x.numpy() + bias)))


eps = 1e-6
bump = np.array([eps, 0.0, 0.0])
numeric_b0 = (loss(b.numpy() + bump) - loss(b.numpy() - bump)) / (2 * eps)
print(f"dL/db[0] by finite differences {numeric_b0:.6f}, sum of G's column 0 {G[:, 0].sum():.6f}")
assert np.isclose(numeric_b0, G[:, 0].sum(), rtol=1e-6)

# %% [markdown]
# ## `unbroadcast`, by hand
# NumPy broadcasting (1) prepends axes of length 1 to the shorter shape and (2) stretches axes of
# length 1.  Undo both: sum over the prepended axes, then over the stretched ones, keeping them.


# %%
def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` (shaped like the broadcast result) back to ``shape``."""
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra)))  # (1) the prepended axes
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)  # (2) the stretched axes


y.backward(G)
print("b.grad from tinyae:", b.grad, " unbroadcast(G, (3,)):", unbroadcast(G, (3,)))
assert np.allclose(b.grad, unbroadcast(G, (3,)), rtol=1e-14)
assert np.allclose(x.grad, G)  # x was not broadcast: it gets G as it is

# %% [markdown]
# ## More shapes: a column and a scalar
# A (4, 1) column is stretched along axis 1, so its gradient sums each row; a 0-d scalar was copied
# everywhere, so its gradient sums everything.  Multiplication follows the same rule (after its own
# local derivative).

# %%
col = tinyae.tensor(rng.normal(size=(4, 1)), dtype="float64", requires_grad=True)
scale = tinyae.tensor(1.5, dtype="float64", requires_grad=True)
z = (x.detach() + col) * scale  # (4, 3) + (4, 1) -> (4, 3), then times a () scalar
z.backward(G)
assert np.allclose(col.grad, unbroadcast(G * 1.5, (4, 1)))
assert np.allclose(scale.grad, unbroadcast(G * (x.numpy() + col.numpy()), ()))
print("column gradient", col.grad.shape, "and scalar gradient", np.shape(scale.grad), "match by hand")
for inputs in ([x, b], [col, scale]):  # and finite differences agree with all of them
    assert tinyae.gradcheck(lambda p, q: (p + q) * q, inputs)

# %% [markdown]
# ## The driver sums back, not the op
# An op's `backward` may return gradients shaped like its *output*: the driver sums each one back to
# its input's shape.  So every op stays simple, and the rule lives in one place.  A gradient that no
# sum can fit is an error that names the op.


# %%
class MyAdd(tinyae.Function):
    @staticmethod
    def forward(ctx, p, q):
        return p + q

    @staticmethod
    def backward(ctx, grad):
        return grad, grad  # both shaped like the output (4, 3)


b.grad = None
MyAdd.apply(x, b).backward(G)
assert b.grad.shape == (3,) and np.allclose(b.grad, G.sum(axis=0))
print("MyAdd returned a (4, 3) gradient for b; b.grad has shape", b.grad.shape)


class BadAdd(MyAdd):
    @staticmethod
    def backward(ctx, grad):
        return grad, grad[:, :2]  # (4, 2) fits no input of shape (3,)


try:
    BadAdd.apply(x, b).backward(G)
except RuntimeError as error:
    print("a gradient of the wrong shape:", error)
    assert "BadAdd" in str(error)
else:
    raise AssertionError("the driver should refuse a (4, 2) gradient for a (3,) input")

print("step 3: every check passed")
