"""Engine step 4: the backward driver in miniature - a topological order, then one walk from loss to leaves.

What is new: the loop that ``loss.backward()`` runs.  Steps 1-3 ran it without looking.  It needs an
order in which every node comes *before* the nodes that produced its inputs (a topological order, from
the loss down), so that when a node's turn comes, every gradient for its output has arrived.  Then:
pop the node's gradient, ask its op for the input gradients, sum them back over broadcast axes (step 3),
and add them to what each input has received so far (step 1's "used twice").  We write both parts here
and check them on a real graph, a tied autoencoder layer, against tinyae's own.

Run it:  python tutorials/engine/04_backward_driver.py
"""

# %%
import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import autograd

rng = np.random.default_rng(0)


def leaf(*shape: int) -> tinyae.Tensor:
    return tinyae.tensor(rng.normal(0.0, 0.5, shape), dtype="float64", requires_grad=True)


x = tinyae.tensor(rng.random((5, 6)), dtype="float64")  # data: no gradient wanted
W, b, c = leaf(6, 3), leaf(3), leaf(6)


def tied_loss() -> tinyae.Tensor:  # W is used twice: by the encoder and, transposed, by the decoder
    h = F.sigmoid(F.linear(x, W, b))
    return F.l2_loss(F.sigmoid(F.linear(h, W.T, c)) - x)


# %% [markdown]
# ## The order: depth-first search, without recursion
# A node is appended only after everything below it (its producers) is; reversing the list puts the
# loss first.  An explicit stack instead of recursion: a chain of 10,000 ops must not hit Python's
# recursion limit.  A leaf is not a node (`node.inputs` holds the leaf tensor itself, or None for a
# Python number), so the search stops there.


# %%
def topological_order(loss_node: tinyae.Context) -> list[tinyae.Context]:
    order, seen, stack = [], set(), [(loss_node, False)]
    while stack:
        node, producers_done = stack.pop()
        if producers_done:
            order.append(node)
        elif node not in seen:
            seen.add(node)
            stack.append((node, True))  # come back to it once its producers are in the list
            stack.extend((p, False) for p in node.inputs if isinstance(p, tinyae.Context))
    return order[::-1]


def is_topological(order: list[tinyae.Context]) -> bool:
    """Every node comes before the nodes that produced its inputs."""
    position = {node: i for i, node in enumerate(order)}
    return all(
        position[node] < position[p] for node in order for p in node.inputs if isinstance(p, tinyae.Context)
    )


loss = tied_loss()
mine = topological_order(loss.node)
theirs = autograd._topological_order(loss.node)  # tinyae's own (an internal helper of its driver)
print("our order:   ", " ".join(n.op.__name__ for n in mine))
print("tinyae order:", " ".join(n.op.__name__ for n in theirs))
assert is_topological(mine) and is_topological(theirs) and set(mine) == set(theirs) and mine[0] is loss.node

# %% [markdown]
# ## The walk
# Gradients of intermediate results wait in `pending` (keyed by the node that made them); leaves
# collect theirs in `grads` (keyed by the leaf).  `node.op.backward(node, grad)` is the op's own rule.


# %%
def unbroadcast(grad, shape):  # step 3's rule
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True)


def backward(loss: tinyae.Tensor) -> dict[tinyae.Tensor, np.ndarray]:
    pending = {loss.node: np.ones(loss.shape)}  # dL/dL = 1
    grads: dict[tinyae.Tensor, np.ndarray] = {}
    for node in topological_order(loss.node):
        in_grads = node.op.backward(node, pending.pop(node))
        if not isinstance(in_grads, tuple):  # a one-input op may return a bare array
            in_grads = (in_grads,)
        for source, g in zip(node.inputs, in_grads, strict=True):
            if g is None or source is None:
                continue  # no gradient wanted, or a Python number
            if isinstance(source, tinyae.Context):  # an intermediate: its node is later in the order
                pending[source] = unbroadcast(g, source.out_shape) + pending.get(source, 0.0)
            elif source.requires_grad:  # a leaf that wants its gradient
                grads[source] = unbroadcast(g, source.shape) + grads.get(source, 0.0)
    return grads


grads = backward(loss)
loss.backward()  # tinyae's driver, on the same graph (ours did not free it)
for name, p in {"W": W, "b": b, "c": c}.items():
    assert np.allclose(grads[p], p.grad, rtol=1e-12, atol=0), name
print("our driver's gradients for W, b and c equal tinyae's")
assert x not in grads  # data asked for no gradient

# %% [markdown]
# ## A deep chain
# 10,000 ops in a row: the explicit stack handles it; a recursive search would raise RecursionError.

# %%
t = leaf(1)
y = t
for _ in range(10_000):
    y = y * 1.0001
chain = topological_order(y.sum().node)
assert len(chain) == 10_001 and np.allclose(backward(y.sum())[t], 1.0001**10_000)
print(f"a chain of {len(chain)} nodes: d y / d t = {float(backward(y.sum())[t][0]):.4f} = 1.0001^10000")

print("step 4: every check passed")
