"""Engine step 2: write your own op as a ``tinyae.Function`` and prove its backward with ``gradcheck``.

What is new: an op of our own.  Step 1 derived a gradient by hand for one graph; an op packs a forward
rule and its derivative once, for every graph that uses it.  A ``Function`` subclass has two static
methods that see plain arrays, never tensors:

* ``forward(ctx, *arrays)`` computes the output and saves (``ctx.save``) what the derivative will need;
* ``backward(ctx, grad)`` receives dL/d(output) and returns dL/d(input), one per input.

``Op.apply(...)`` runs it on tensors and records the node.  We write ``tanh`` and ``hypot``, check
them against tinyae's ops, then let ``tinyae.gradcheck`` catch a wrong backward.

Run it:  python tutorials/engine/02_your_own_function.py
"""

# %%
import numpy as np

import tinyae
import tinyae.functional as F


class MyTanh(tinyae.Function):
    """y = tanh(x); dy/dx = 1 - y^2, so the output is what we save."""

    @staticmethod
    def forward(ctx, x):
        y = ctx.xp.tanh(x)  # ctx.xp is the array namespace of the inputs' backend (NumPy here)
        ctx.save(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * (1 - y * y)  # chain rule: dL/dx = dL/dy * dy/dx, elementwise


# %% [markdown]
# ## Same values and gradients as tinyae's `F.tanh`

# %%
rng = np.random.default_rng(0)
data = rng.normal(size=(3, 4))
x1 = tinyae.tensor(data, dtype="float64", requires_grad=True)
x2 = tinyae.tensor(data, dtype="float64", requires_grad=True)
y1, y2 = MyTanh.apply(x1), F.tanh(x2)
direction = rng.normal(size=(3, 4))  # any dL/dy will do; a random one tests every position
y1.backward(direction)
y2.backward(direction)
assert np.allclose(y1.numpy(), y2.numpy(), rtol=1e-14) and np.allclose(x1.grad, x2.grad, rtol=1e-14)
print("MyTanh: the values and gradients of F.tanh")

# %% [markdown]
# ## Two inputs: `hypot(a, b) = sqrt(a^2 + b^2)`
# `backward` returns one gradient per input, in order: d/da = a / h and d/db = b / h.


# %%
class MyHypot(tinyae.Function):
    @staticmethod
    def forward(ctx, a, b):
        h = ctx.xp.sqrt(a * a + b * b)
        ctx.save(a, b, h)
        return h

    @staticmethod
    def backward(ctx, grad):
        a, b, h = ctx.saved
        return grad * a / h, grad * b / h


a = tinyae.tensor(rng.normal(size=5), dtype="float64", requires_grad=True)
b = tinyae.tensor(rng.normal(size=5), dtype="float64", requires_grad=True)
reference = ((a * a + b * b) ** 0.5).numpy()  # the same function from tinyae's primitives
assert np.allclose(MyHypot.apply(a, b).numpy(), reference, rtol=1e-14)

# %% [markdown]
# ## Proof by finite differences: `tinyae.gradcheck`
# gradcheck runs backward with a random output direction and compares every element of every input's
# gradient with central differences, in float64.  It returns True or raises `GradcheckError`.

# %%
assert tinyae.gradcheck(MyTanh.apply, [x1])
assert tinyae.gradcheck(MyHypot.apply, [a, b])
print("gradcheck passes for MyTanh and MyHypot")

# %% [markdown]
# ## A wrong backward is caught
# A classic slip: `grad * (1 - y)` instead of `grad * (1 - y**2)`.  The values are still right, so
# nothing else would notice; gradcheck names the input, the worst element and both numbers.


# %%
class WrongTanh(MyTanh):
    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved
        return grad * (1 - y)  # wrong: the square is missing


try:
    tinyae.gradcheck(WrongTanh.apply, [x1])
    raise AssertionError("gradcheck should have failed on a wrong backward")
except tinyae.GradcheckError as error:  # (a plain AssertionError is not caught here)
    print("gradcheck caught it:", error)
    assert error.input_index == 0 and abs(error.analytic - error.numeric) > 1e-3

# %% [markdown]
# A backward that forgets the factor `b` in d/db is caught in input 1, not input 0.


# %%
class WrongHypot(MyHypot):
    @staticmethod
    def backward(ctx, grad):
        a, _, h = ctx.saved
        return grad * a / h, grad / h


try:
    tinyae.gradcheck(WrongHypot.apply, [a, b])
    raise AssertionError("gradcheck should have failed on WrongHypot")
except tinyae.GradcheckError as error:
    print("and WrongHypot's error is found in input", error.input_index)
    assert error.input_index == 1

print("step 2: every check passed")
