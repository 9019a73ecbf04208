"""Engine step 7: stable forms - why sigmoid, softplus and cross-entropy are not written as in the textbook.

What is new: floating point.  ``exp`` overflows in float32 from x = 89 (in float64 from 710), and
``1 + tiny`` rounds to 1.  So the textbook formulas give inf, NaN or 0 at inputs a network really
produces, and a graph built from them sends NaN gradients back even where the value looked fine.  The fix
is to rewrite each formula so that ``exp`` only sees numbers <= 0, with ``e = exp(-|x|)`` in (0, 1].  We
show each failure, write the stable form by hand, and check it against tinyae's op: values and gradients.

Run it:  python tutorials/engine/07_stable_forms.py
"""

# %%
import numpy as np

import tinyae
import tinyae.functional as F

x = np.array([-100.0, -20.0, 0.0, 20.0, 100.0], dtype=np.float32)  # logits a network can produce
print("x =", x)

# %% [markdown]
# ## Sigmoid: the textbook form overflows, and its graph gives NaN gradients
# `1 / (1 + exp(-x))` at x = -100 needs exp(100), which is inf in float32.  The value still comes out
# as 0, but NumPy warns, and in a graph the derivative of exp (which is exp again) meets a zero
# gradient: 0 * inf = NaN.  `np.errstate` makes NumPy raise instead of warn, and then keeps it quiet.

# %%
try:
    with np.errstate(over="raise"):
        1 / (1 + np.exp(-x))
except FloatingPointError as error:
    print("textbook sigmoid:", error)

t = tinyae.tensor(x, requires_grad=True)
with np.errstate(over="ignore", invalid="ignore"):  # see the values it gives instead
    (1 / (1 + F.exp(-t))).sum().backward()
print("its gradient in a tinyae graph:", t.grad)
assert np.isnan(t.grad[0])


# %%
def stable_sigmoid(x):
    e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))  # the same number, rearranged per sign


t = tinyae.tensor(x, requires_grad=True)
F.sigmoid(t).sum().backward()
s = stable_sigmoid(x)
assert np.allclose(F.sigmoid(t).numpy(), s, rtol=1e-6, atol=0)
print("stable sigmoid:", s, " gradient:", t.grad)
# The derivative needs the same care: s (1 - s) is 0 at x = 20, where s rounds to 1 in float32;
# written in e it is e / (1 + e)^2, which keeps the 2e-9.
e = np.exp(-np.abs(x))
print("s (1 - s):", s * (1 - s), " e / (1 + e)^2:", e / (1 + e) ** 2)
assert np.allclose(t.grad, e / (1 + e) ** 2, rtol=1e-6, atol=0) and s[3] * (1 - s[3]) == 0

# %% [markdown]
# ## Softplus: `log(1 + exp(x))` is inf at x = 100 and 0 at x = -20
# True values: about 100 and about 2e-9.  Rewrite it as `max(x, 0) + log1p(exp(-|x|))`: no overflow,
# and `log1p(e)` keeps a tiny e that `1 + e` would round away.  Its derivative is sigmoid(x).

# %%
with np.errstate(over="ignore"):
    print("textbook softplus:", np.log(1 + np.exp(x)))


def stable_softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


t = tinyae.tensor(x, requires_grad=True)
F.softplus(t).sum().backward()
print("stable softplus:  ", stable_softplus(x))
assert np.allclose(F.softplus(t).numpy(), stable_softplus(x), rtol=1e-6, atol=0)
assert np.allclose(t.grad, stable_sigmoid(x), rtol=1e-6, atol=0)

# %% [markdown]
# ## Binary cross-entropy: from probabilities it takes log(0); from logits it is exact
# With target 0 and logit 20, sigmoid rounds to 1.0 in float32 and `log(1 - p)` is log(0) = -inf.
# Written in the logit, `BCE = max(x, 0) - x y + log1p(exp(-|x|))` and its gradient is sigmoid(x) - y.

# %%
y = np.array([1.0, 1.0, 0.0, 0.0, 0.0], dtype=np.float32)  # targets
with np.errstate(divide="ignore", invalid="ignore"):
    p = stable_sigmoid(x)  # even a stable sigmoid rounds to exactly 1.0 at x = 20 in float32
    print("BCE from probabilities:", -(y * np.log(p) + (1 - y) * np.log(1 - p)))
bce = stable_softplus(x) - x * y  # = max(x, 0) - x y + log1p(e)
print("BCE from logits:       ", bce)

t = tinyae.tensor(x, requires_grad=True)
loss = F.binary_cross_entropy_with_logits(t, tinyae.tensor(y), reduction="sum")
loss.backward()
assert np.allclose(loss.item(), bce.sum(), rtol=1e-6)
assert np.allclose(t.grad, stable_sigmoid(x) - y, rtol=1e-6, atol=1e-30)

# %% [markdown]
# ## Softmax cross-entropy: subtract the row's maximum first
# `exp(1000)` is inf and inf / inf is NaN.  Since softmax(x) = softmax(x - max(x)), shift first: the
# largest exponent is then exp(0) = 1.  The loss is -log_softmax(x)[label] and its gradient
# softmax(x) - onehot(label).

# %%
logits = np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]])
labels = np.array([1, 2])
with np.errstate(all="ignore"):
    print("textbook log-softmax:", np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))[0])
shifted = logits - logits.max(axis=1, keepdims=True)
log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
print("shifted log-softmax: ", log_softmax[0])

t = tinyae.tensor(logits, dtype="float64", requires_grad=True)
assert np.allclose(F.log_softmax(t).numpy(), log_softmax, rtol=1e-12)
loss = F.cross_entropy(t, tinyae.tensor(labels, dtype="int64"), reduction="sum")
loss.backward()
onehot = np.eye(3)[labels]
assert np.isclose(loss.item(), -(onehot * log_softmax).sum(), rtol=1e-12)
assert np.allclose(t.grad, np.exp(log_softmax) - onehot, rtol=1e-12)
print(f"cross-entropy {loss.item():.4f} (label 1 of the first row is 1000 below the best: a loss of 1000)")

print("step 7: every check passed")
