"""Engine step 1: a graph of scalars, its gradient by hand, and the same gradient from tinyae.

What is new: everything.  One neuron and its squared error, ``L = (sigmoid(w * x + b) - t)^2``, worked by
hand: the forward pass keeps every intermediate value, the backward pass multiplies local derivatives from
the loss back to ``w`` and ``b`` (the chain rule), and finite differences confirm the result.  Then tinyae
builds the same graph by itself and ``L.backward()`` gives the same numbers.  Last, a value used twice:
its gradient is the sum over both paths.

Run it:  python tutorials/engine/01_scalar_graph.py
"""

# %%
import math

import tinyae
import tinyae.functional as F

x, t = 2.0, 0.3  # one input and its target
w, b = 0.5, -0.4  # the two parameters we want gradients for

# %% [markdown]
# ## The forward pass, by hand
# Four small operations, each result named so that the backward pass can use it.

# %%
a = w * x  # multiply
z = a + b  # add
s = 1.0 / (1.0 + math.exp(-z))  # sigmoid
L = (s - t) ** 2  # squared error
print(f"forward:  a = {a:.4f}, z = {z:.4f}, s = {s:.4f}, L = {L:.6f}")

# %% [markdown]
# ## The backward pass, by hand
# Walk the same operations in reverse.  Each step multiplies the gradient that arrived from above,
# dL/d(output), by the operation's own local derivative d(output)/d(input): the chain rule.

# %%
grad_loss = 1.0  # grad_v stands for dL/dv; dL/dL = 1 starts the walk
grad_s = grad_loss * 2 * (s - t)  # d(s - t)^2 / ds = 2 (s - t)
grad_z = grad_s * s * (1 - s)  # d sigmoid(z) / dz = s (1 - s): cheap from the output s
grad_a = grad_z * 1.0  # d(a + b) / da = 1
grad_b = grad_z * 1.0  # d(a + b) / db = 1
grad_w = grad_a * x  # d(w x) / dw = x
print(f"by hand:  dL/dw = {grad_w:.8f}, dL/db = {grad_b:.8f}")

# %% [markdown]
# ## Check by finite differences
# Nudge a parameter by a tiny eps both ways and watch the loss: (L(w + eps) - L(w - eps)) / (2 eps).


# %%
def loss(w: float, b: float) -> float:
    return (1.0 / (1.0 + math.exp(-(w * x + b))) - t) ** 2


eps = 1e-6
numeric_w = (loss(w + eps, b) - loss(w - eps, b)) / (2 * eps)
numeric_b = (loss(w, b + eps) - loss(w, b - eps)) / (2 * eps)
print(f"numeric:  dL/dw = {numeric_w:.8f}, dL/db = {numeric_b:.8f}")
assert math.isclose(grad_w, numeric_w, rel_tol=1e-6) and math.isclose(grad_b, numeric_b, rel_tol=1e-6)

# %% [markdown]
# ## The same graph in tinyae
# Leaves that want a gradient say so with `requires_grad=True`.  Each result of an op remembers its
# *node*: which op made it and where its inputs came from.  That is the graph `backward()` walks.

# %%
w_t = tinyae.tensor(w, dtype="float64", requires_grad=True)
b_t = tinyae.tensor(b, dtype="float64", requires_grad=True)
L_t = (F.sigmoid(w_t * x + b_t) - t) ** 2

node, chain = L_t.node, []
while isinstance(node, tinyae.Context):  # follow the first input back to the leaf w
    chain.append(node.op.__name__)
    node = node.inputs[0]
print("the graph from L back to w:", " <- ".join(chain), "<- w")
assert chain == ["Pow", "Sub", "Sigmoid", "Add", "Mul"]
assert node is w_t  # a leaf is kept as the tensor itself: backward writes its .grad

L_t.backward()
print(f"tinyae:   dL/dw = {float(w_t.grad):.8f}, dL/db = {float(b_t.grad):.8f}")
assert math.isclose(L_t.item(), L, rel_tol=1e-12)
assert math.isclose(float(w_t.grad), grad_w, rel_tol=1e-12)
assert math.isclose(float(b_t.grad), grad_b, rel_tol=1e-12)

# %% [markdown]
# ## A value used twice
# In `y = u * u + u` the leaf `u` feeds three places.  Each path sends back its own share and the
# shares add up: dy/du = u + u + 1 = 2u + 1.  That is why the driver *accumulates* gradients.

# %%
u = tinyae.tensor(3.0, dtype="float64", requires_grad=True)
y = u * u + u
y.backward()
print(f"y = u*u + u at u = 3: dy/du = {float(u.grad)} (by hand: 2u + 1 = 7)")
assert float(u.grad) == 2 * 3.0 + 1

print("step 1: every check passed")
