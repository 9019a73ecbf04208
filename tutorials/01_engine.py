"""Tutorial 1: the engine in the REPL - a tensor, a graph, a backward pass, a gradient check.

What is new: everything.  This step trains nothing; it shows the three ideas every later step stands on.

1. A tensor is an array plus autograd bookkeeping.  Ops on tensors that require gradients record a graph.
2. ``loss.backward()`` walks that graph from the loss back to the leaves and fills each leaf's ``.grad``.
3. ``tinyae.gradcheck`` compares those gradients with finite differences, element by element.

The layer below is the encoder half of the Theano tutorial's autoencoder: ``h = sigmoid(x @ W + b)``
with W of shape (in_features, out_features), and a tied decoder ``y = sigmoid(h @ W.T + c)``.

Run it:  python tutorials/01_engine.py  [--backend strict] [--quick] [--out DIR]
"""

# %%
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import cli, plots


# %%
def main(argv: list[str] | None = None) -> None:
    parser = cli.Parser(description="tinyae tutorial 1: the engine")  # argparse; also runs in Jupyter
    parser.add_argument("--backend", default="numpy", help="numpy (default), strict, or cupy on a GPU")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (used by the test suite)")
    parser.add_argument("--out", default="out/01_engine", help="folder for the numbers this step writes")
    args = parser.parse_args(argv)
    tinyae.set_backend(args.backend)
    tinyae.manual_seed(0)
    rng = np.random.default_rng(0)

    # Step 1: tensors.  Python data becomes float32; requires_grad marks the leaves we want gradients for.
    features, hidden = (6, 3) if args.quick else (12, 5)
    x = tinyae.tensor(rng.random((4, features)), dtype="float32")  # 4 "images", pixels in [0, 1)
    W = tinyae.tensor(rng.normal(0.0, 0.3, (features, hidden)), dtype="float32", requires_grad=True)
    b = tinyae.tensor(np.zeros(hidden), dtype="float32", requires_grad=True)
    c = tinyae.tensor(np.zeros(features), dtype="float32", requires_grad=True)
    print(f"x: {x.shape} {x.dtype} on {x.backend.name}; W: {W.shape}, requires_grad={W.requires_grad}")

    # Step 2: a forward pass builds the graph.  Each result remembers the op (its node) that made it.
    h = F.sigmoid(F.linear(x, W, b))  # encoder: (4, features) @ (features, hidden) + (hidden,)
    y = F.sigmoid(F.linear(h, W.T, c))  # tied decoder: the same W, transposed
    loss = F.l2_loss(y - x)  # 0.5 * sum of squared errors, as tf.nn.l2_loss
    print(f"loss = {loss.item():.4f}, made by {loss.node.op.__name__}, from {y.node.op.__name__}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    leaves = {"x": x, "W": W, "b": b, "c": c}
    plots.graph_figure(loss, out / "graph.png", names=leaves)  # drawn by matplotlib
    plots.write_graph(loss, out / "graph.dot", names=leaves)  # the same graph as Graphviz text
    print(f"the graph: {out / 'graph.png'} (and {out / 'graph.dot'} for Graphviz's `dot -Tpng`)")

    # Step 3: backward.  Every leaf that requires a gradient now holds d loss / d leaf, shaped like itself.
    loss.backward()
    grad_norm = float(np.linalg.norm(W.backend.to_numpy(W.grad)))
    print(f"W.grad: shape {tuple(W.grad.shape)}, norm {grad_norm:.4f}")

    # Step 4: check the gradients against finite differences, in float64 (float32 is too coarse for it).
    x64 = tinyae.tensor(x.numpy(), dtype="float64")
    W64, b64, c64 = (tinyae.tensor(p.numpy(), dtype="float64", requires_grad=True) for p in (W, b, c))

    def tied_autoencoder_loss(W: tinyae.Tensor, b: tinyae.Tensor, c: tinyae.Tensor) -> tinyae.Tensor:
        code = F.sigmoid(F.linear(x64, W, b))
        return F.l2_loss(F.sigmoid(F.linear(code, W.T, c)) - x64)

    assert tinyae.gradcheck(tied_autoencoder_loss, [W64, b64, c64])
    print("gradcheck: analytic gradients match finite differences for W, b and c")

    # Step 5: one step of gradient descent lowers the loss: the whole point of the gradients.
    with tinyae.no_grad():
        W.data -= 0.5 * W.grad
        b.data -= 0.5 * b.grad
        c.data -= 0.5 * c.grad
        after = F.l2_loss(F.sigmoid(F.linear(F.sigmoid(F.linear(x, W, b)), W.T, c)) - x).item()
    print(f"after one SGD step (lr 0.5): loss {loss.item():.4f} -> {after:.4f}")

    numbers = {"loss_before": loss.item(), "loss_after": after, "backend": args.backend}
    (out / "numbers.json").write_text(json.dumps(numbers, indent=2))
    print(f"numbers written to {out / 'numbers.json'}")


# %%
if __name__ == "__main__":
    main()  # in a Jupyter kernel, cli.Parser ignores the kernel's own arguments (-f file.json)
