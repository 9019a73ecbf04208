"""Tutorial 5: a sparse autoencoder - a penalty that keeps most hidden units quiet most of the time.

What is new since step 4: *a loss made of parts*.  Instead of corrupting the input, the sparse autoencoder
adds two penalties to the reconstruction error, and ``fit`` records each part per epoch::

    loss = (1/m) sum_b 0.5 |xhat_b - x_b|^2          "reconstruction" (loss="l2_mean")
         + beta * sum_j KL(rho || rho_hat_j)         "sparsity": rho_hat_j = mean activation of unit j
         + (lambda / 2) * sum of squared weights     "weight_decay"

``KL(rho || q) = rho log(rho / q) + (1 - rho) log((1 - rho) / (1 - q))`` is 0 when unit j is active a
fraction rho of the time and grows quickly when it is active more often.  rho_hat_j is measured over
each mini-batch, so the batches must be large enough to estimate it.

Settings reproduced (the UFLDL sparse autoencoder exercise on MNIST): 784-196-784, sigmoid units
(untied weights), rho = 0.1, beta = 3, lambda = 0.003.  UFLDL minimises the loss with 400 full-batch
L-BFGS iterations on 10,000 images; tinyae has no L-BFGS, so Adam (learning rate 0.01, batches of 500)
takes its place, for 300 epochs of the 4,000-image sample (2,400 updates).  A second model with
beta = 0 (no sparsity penalty, the same weight decay) shows what the penalty changes.

Run it:  python tutorials/05_sparse_autoencoder.py  [--quick] [--backend strict|cupy]
         [--data sample|mnist|fashion] [--epochs N] [--out DIR]
Writes into --out: filters.png (all 196 filters), loss_parts.png (the three parts per epoch),
activations.png (each unit's mean activation on the test set, with and without the penalty, against rho)
and numbers.json (backend, data, epochs, rho, beta, weight_decay, loss, parts, test_loss,
mean_activation, mean_activation_no_penalty, seconds).
"""

# %%
from __future__ import annotations

import time

import numpy as np

import tinyae
from tinyae import cli, models, optim, plots, train

RHO, BETA, LAMBDA = 0.1, 3.0, 3e-3
HIDDEN = 196


# %%
def main() -> None:
    parser = cli.tutorial_parser(
        "05_sparse_autoencoder", "a sparse autoencoder", "default 300 (2 with --quick)"
    )
    args = parser.parse_args()
    epochs = args.epochs or (2 if args.quick else 300)
    out, d = cli.start_tutorial(args)
    start = time.perf_counter()

    # Step 1: the data: flattened 28 x 28 images, pixels in [0, 1].
    print(f"Step 1: {args.data}: {len(d.x_train)} training and {len(d.x_test)} test images")

    # Step 2: the sparse model, and the same model without the sparsity penalty for comparison.
    sparse = models.SparseAutoencoder([784, HIDDEN], rho=RHO, beta=BETA, weight_decay=LAMBDA, loss="l2_mean")
    no_penalty = models.SparseAutoencoder([784, HIDDEN], rho=RHO, beta=0.0, weight_decay=LAMBDA)
    print(f"Step 2: sparse autoencoder 784-{HIDDEN}-784, rho {RHO}, beta {BETA}, lambda {LAMBDA}, l2_mean")

    # Step 3: train.  history.parts holds each named part of the loss, one mean per epoch.
    batch = min(500, len(d.x_train))
    print(f"Step 3: {epochs} epochs of Adam, lr 0.01, batches of {batch} (UFLDL: L-BFGS, full batch)")
    history = train.fit(sparse, optim.Adam(sparse.parameters(), lr=0.01), d.x_train, epochs, batch)
    for epoch in sorted({1, 2, epochs // 4, epochs // 2, epochs} & set(range(1, epochs + 1))):
        parts = ", ".join(f"{name} {values[epoch - 1]:.3f}" for name, values in history.parts.items())
        print(f"        epoch {epoch:3d}: loss {history.loss[epoch - 1]:.3f} = {parts}")
    test = train.evaluate(sparse, d.x_test)
    print(f"        test: loss {test['loss']:.3f}, reconstruction {test['reconstruction']:.3f}")
    print("        training the same model with beta = 0 (no sparsity penalty)")
    train.fit(no_penalty, optim.Adam(no_penalty.parameters(), lr=0.01), d.x_train, epochs, batch)

    # Step 4: did it work?  Each unit's mean activation over the test images, against the target rho.
    with tinyae.no_grad():
        rho_hat = sparse.encode(d.x_test).numpy().mean(axis=0)  # (196,): one mean per hidden unit
        rho_hat_free = no_penalty.encode(d.x_test).numpy().mean(axis=0)
    print(
        f"Step 4: mean activation per unit, median (5%-95%): with the penalty {np.median(rho_hat):.3f} "
        f"({np.percentile(rho_hat, 5):.3f}-{np.percentile(rho_hat, 95):.3f}), without "
        f"{np.median(rho_hat_free):.3f} ({np.percentile(rho_hat_free, 5):.3f}-"
        f"{np.percentile(rho_hat_free, 95):.3f}); rho = {RHO}"
    )
    fig = plots.score_histograms(
        {f"beta = {BETA:g}": rho_hat, "beta = 0": rho_hat_free},
        bins=40,
        title="mean activation of each hidden unit on the test set",
    )
    ax = fig.axes[0]
    ax.axvline(RHO, color="black", linestyle="--", label=f"rho = {RHO}")
    ax.set_xlabel("mean activation rho_hat_j")
    ax.set_ylabel("hidden units")
    ax.legend()
    plots.save_figure(fig, out / "activations.png")

    # Step 5: the loss parts over training, and the filters (columns of the encoder's W, (784, 196)).
    curves = {"loss": history.loss, "parts": history.parts}  # training only: no validation series
    fig = plots.loss_curves(curves, title="sparse autoencoder: the parts of the loss")
    fig.axes[1].set_yscale("log")  # the sparsity part falls from ~40 to below 1
    plots.save_figure(fig, out / "loss_parts.png")
    W = sparse.weights()[0]  # the encoder's weight; weights()[1] is the decoder's (196, 784)
    plots.filter_tile(W, n=HIDDEN, path=out / "filters.png", title=f"the {HIDDEN} filters of the sparse AE")
    print("Step 5: drew the loss parts per epoch and the filters")

    numbers = {
        "backend": args.backend,
        "data": args.data,
        "epochs": epochs,
        "rho": RHO,
        "beta": BETA,
        "weight_decay": LAMBDA,
        "loss": history.loss,
        "parts": history.parts,
        "test_loss": test,
        "mean_activation": float(rho_hat.mean()),
        "mean_activation_no_penalty": float(rho_hat_free.mean()),
        "seconds": time.perf_counter() - start,
    }
    cli.finish_tutorial(out, numbers, "activations.png")


# %%
if __name__ == "__main__":
    main()
