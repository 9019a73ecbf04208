"""Engine step 6: an optimizer - update rules written by hand, checked step for step against tinyae.optim.

What is new: what happens *after* backward.  The gradient says which way is uphill; an optimizer turns it
into a step, in place, and may keep state per parameter between steps (a velocity, running moments).
We write three rules in plain NumPy - gradient descent, momentum and Adam, as PyTorch defines them - and
run each beside ``tinyae.optim`` on the same problem: the parameters must agree after every step.

Run it:  python tutorials/engine/06_optimizer.py
"""

# %%
import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import optim

rng = np.random.default_rng(0)
x = tinyae.tensor(rng.normal(size=(16, 3)), dtype="float64")  # a tiny regression: y = x @ W + b + noise
y = tinyae.tensor(x.numpy() @ [[1.0], [-2.0], [0.5]] + 0.3 + 0.1 * rng.normal(size=(16, 1)), dtype="float64")
start = [rng.normal(size=(3, 1)), np.zeros(1)]  # W and b


def loss_of(W: tinyae.Tensor, b: tinyae.Tensor) -> tinyae.Tensor:
    return F.mse_loss(F.linear(x, W, b), y)


def gradients(params: list[np.ndarray]) -> list[np.ndarray]:
    """The engine's gradient at the hand-written optimizer's parameters (the update is ours)."""
    W, b = (tinyae.tensor(p, dtype="float64", requires_grad=True) for p in params)
    loss_of(W, b).backward()
    return [W.grad, b.grad]


# %% [markdown]
# ## Three update rules, by hand
# Each updates the arrays in `params` in place and keeps its own `state`, one entry per parameter
# position (never keyed by `id()`: positions survive a checkpoint).


# %%
def gradient_descent(params, state, lr=0.1):
    for p, g in zip(params, gradients(params), strict=True):
        p -= lr * g


def momentum(params, state, lr=0.1, beta=0.9):
    for i, (p, g) in enumerate(zip(params, gradients(params), strict=True)):
        velocity = g.copy() if i not in state else beta * state[i] + g  # PyTorch: buf = g at step 1
        state[i] = velocity
        p -= lr * velocity


def adam(params, state, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8):
    state["t"] = t = state.get("t", 0) + 1
    for i, (p, g) in enumerate(zip(params, gradients(params), strict=True)):
        m, v = state.get(i, (np.zeros_like(p), np.zeros_like(p)))
        m = beta1 * m + (1 - beta1) * g  # running mean of the gradient
        v = beta2 * v + (1 - beta2) * g * g  # running mean of its square
        state[i] = (m, v)
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)  # undo the pull towards the zero start
        p -= lr * m_hat / (np.sqrt(v_hat) + eps)


# %% [markdown]
# ## Side by side with `tinyae.optim`
# The usual loop for tinyae: `zero_grad()`, forward, `backward()`, `step()`.


# %%
def compare(rule, make_optimizer, steps=20):
    mine = [p.copy() for p in start]
    W, b = (tinyae.tensor(p, dtype="float64", requires_grad=True) for p in start)
    opt, state = make_optimizer([W, b]), {}
    first = loss_of(W, b).item()
    for step in range(steps):
        rule(mine, state)
        opt.zero_grad()
        loss_of(W, b).backward()
        opt.step()
        for name, p, q in zip("Wb", mine, (W, b), strict=True):
            assert np.allclose(p, q.numpy(), rtol=1e-10, atol=1e-12), f"{rule.__name__} {name} step {step}"
    last = loss_of(W, b).item()
    print(f"{rule.__name__:>16}: same parameters as tinyae for {steps} steps; loss {first:.3f} -> {last:.4f}")
    assert last < first
    return mine


compare(gradient_descent, lambda ps: optim.SGD(ps, lr=0.1))
compare(momentum, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9))
W_fit, b_fit = compare(adam, lambda ps: optim.Adam(ps, lr=0.1), steps=100)
print(f"Adam's fit: W = {W_fit.ravel().round(2)}, b = {b_fit.round(2)} (data made with [1, -2, 0.5], 0.3)")

# %% [markdown]
# ## One step worked out
# Adam's first step moves every parameter by about `lr` against the sign of its gradient, whatever the
# gradient's size: m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps).

# %%
w0 = np.array([3.0, -0.001])
w = tinyae.tensor(w0, dtype="float64", requires_grad=True)
opt = optim.Adam([w], lr=0.1)
(w * w).sum().backward()  # gradient 2w = [6, -0.002]
opt.step()
g = 2 * w0
print("after one Adam step from [3, -0.001]:", w.numpy(), "(both moved by about 0.1)")
assert np.allclose(w.numpy(), w0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-12)

print("step 6: every check passed")
