"""Tutorial 6: the contractive autoencoder - penalise how fast the code changes when the input does.

What is new: a penalty on the encoder's *derivatives*, rather than on its code or its input.  The loss
adds ``lambda * |J(x)|_F^2``, the squared Frobenius norm of the Jacobian ``J = d code / d x``, so that
small moves of ``x`` barely move its code.  For one sigmoid layer ``h = sigmoid(x @ W + b)`` the Jacobian
is ``J_ij = h_j (1 - h_j) W_ij``, hence ``|J(x)|_F^2 = sum_j (h_j (1 - h_j))^2 * sum_i W_ij^2``: cheap, no
(784 x 500) matrix per sample.  ``fit`` records the penalty as a loss part of its own, so we can watch it
during training (it grows with the weights), and a plain autoencoder trained beside it shows how much
larger its Jacobian gets on the test digits.

Settings reproduced (the Theano deep learning tutorial's cA): 784-500-784, sigmoid encoder and decoder,
tied weights, cross-entropy summed over pixels, contraction lambda = 0.1, plain SGD with learning rate
0.01, batch size 10, 20 epochs.  On the 4,000-image sample an epoch is 400 steps, about a twelfth of the
source's, so the filters stay blurrier; ``--data mnist`` comes close to the source.  Batches of 10 make
many small matrix products: on a busy machine ``OPENBLAS_NUM_THREADS=1`` runs them several times faster.

Run it:  python tutorials/06_contractive_autoencoder.py  [--quick] [--backend numpy|strict|cupy]
         [--data sample|mnist|fashion] [--epochs N] [--lambda 0.1] [--out out/06_contractive_autoencoder]
Writes:  filters_contractive.png, filters_plain.png, loss_contractive.png, penalty.png,
         jacobian_histogram.png, reconstructions.png and numbers.json (losses, parts and test |J|_F^2 per
         epoch, times) into --out.
"""

# %%
from __future__ import annotations

import time

import numpy as np

import tinyae
from tinyae import cli, models, optim, plots, train


# %%
def jacobian_norms(model: models.Autoencoder, x: np.ndarray) -> np.ndarray:
    """Per-sample ``|d code / d x|_F^2`` of a one-layer sigmoid encoder, by the closed form above."""
    with tinyae.no_grad():
        h = model.encode(x).numpy()  # (n, 500)
    W = model.weights()[0].numpy()  # (784, 500): the encoder's weight (the tied decoder uses W.T)
    return ((h * (1.0 - h)) ** 2) @ (W**2).sum(axis=0)  # (n, 500) @ (500,) -> (n,)


# %%
def main() -> None:
    parser = cli.tutorial_parser(
        "06_contractive_autoencoder",
        "the contractive autoencoder",
        "epochs for each model (default 20, quick 1)",
    )
    parser.add_argument("--lambda", dest="contraction", type=float, default=0.1, help="penalty weight")
    args = parser.parse_args()
    out, dataset = cli.start_tutorial(args)
    epochs = args.epochs or (1 if args.quick else 20)
    x_train, x_test = dataset.x_train, dataset.x_test
    print(f"Step 1: data - {len(x_train)} training and {len(x_test)} test images from {args.data!r}")

    # Step 2: the two models.  A ContractiveAutoencoder is the tied sigmoid autoencoder of the earlier
    # steps plus one loss part, "contraction" = lambda * mean over the batch of |J(x)|_F^2.
    contractive = models.ContractiveAutoencoder([784, 500], contraction=args.contraction, tied=True)
    plain = models.TiedAutoencoder([784, 500], activation="sigmoid", loss="bce")
    print(f"Step 2: {contractive}\n  and, to compare, the same model without the penalty")

    # Step 3: train both the same way.  After every epoch a callback measures the mean |J|_F^2 on the test
    # images, which fit does not know about, and prints a line per epoch as the Theano tutorial does.
    jacobians: dict[str, list[float]] = {"contractive": [], "plain": []}
    pair: dict[str, models.Autoencoder] = {"contractive": contractive, "plain": plain}
    histories, seconds = {}, {}
    for name, model in pair.items():

        def report(epoch: int, history: train.History, model: models.Autoencoder, name: str = name) -> None:
            jacobians[name].append(float(jacobian_norms(model, x_test).mean()))
            parts = ", ".join(f"{k} {v[-1]:.2f}" for k, v in history.parts.items())
            print(f"  {name} epoch {epoch}: {parts}, test |J|_F^2 {jacobians[name][-1]:.2f}")

        print(f"Step 3: training the {name} autoencoder, SGD lr 0.01, batch 10, {epochs} epochs")
        start = time.perf_counter()
        histories[name] = train.fit(
            model, optim.SGD(model.parameters(), lr=0.01), x_train, epochs, batch_size=10,
            val_data=x_test, callbacks=[report], progress=False,
        )  # fmt: skip
        seconds[name] = time.perf_counter() - start

    # Step 4: check the closed form against the model's own penalty (its autograd-friendly version).
    with tinyae.no_grad():
        _, penalty = contractive.encode_with_jacobian(contractive.as_input(x_test))
    norms = {name: jacobian_norms(model, x_test) for name, model in pair.items()}
    print(f"Step 4: mean test |J|_F^2 {norms['contractive'].mean():.3f} by the closed form, "
          f"{penalty.item():.3f} by the model")  # fmt: skip
    mean = {name: float(values.mean()) for name, values in norms.items()}
    print(f"  the penalty makes the code {mean['plain'] / mean['contractive']:.2f}x less sensitive: mean "
          f"|J|_F^2 {mean['plain']:.2f} (plain) vs {mean['contractive']:.2f} (contractive)")  # fmt: skip
    for name, history in histories.items():
        print(f"  {name}: test cross-entropy {history.val_parts['reconstruction'][-1]:.2f} per image")

    # Step 5: the pictures.  Filters are the columns of W: the input each hidden unit responds to most.
    for name, model in pair.items():
        plots.filter_tile(model.weights()[0], n=100, path=out / f"filters_{name}.png",
                          title=f"{name} autoencoder: first 100 of 500 filters")  # fmt: skip
    history, lam = histories["contractive"], args.contraction
    plots.loss_curves(history, path=out / "loss_contractive.png", title=f"contractive AE (lambda = {lam:g})")
    penalty_only = {"parts": {"contraction": history.parts["contraction"]},
                    "val_parts": {"contraction": history.val_parts["contraction"]}}  # fmt: skip
    plots.loss_curves(penalty_only, path=out / "penalty.png", title=f"the penalty {lam:g} * mean |J|_F^2")
    figure = plots.score_histograms(
        {"plain autoencoder": norms["plain"], "contractive autoencoder": norms["contractive"]},
        title="how much each test image's code moves: |d code / d x|_F^2",
    )
    figure.axes[0].set_xlabel("|J(x)|_F^2 per test image")  # its default label says "anomaly score"
    plots.save_figure(figure, out / "jacobian_histogram.png")
    with tinyae.no_grad():
        contractive.eval()
        plots.reconstruction_grid(x_test[:10], contractive(x_test[:10]), path=out / "reconstructions.png")

    numbers = {
        "settings": {"sizes": [784, 500], "contraction": args.contraction, "lr": 0.01, "batch_size": 10,
                     "epochs": epochs, "data": args.data, "backend": args.backend},
        "train_loss": {name: h.loss for name, h in histories.items()},
        "test_loss": {name: h.val_loss for name, h in histories.items()},
        "parts": histories["contractive"].parts,
        "test_parts": histories["contractive"].val_parts,
        "test_jacobian_per_epoch": jacobians,
        "test_jacobian_final": mean,
        "seconds": seconds,
    }  # fmt: skip
    cli.finish_tutorial(out, numbers, "filters_contractive.png")


# %%
if __name__ == "__main__":
    main()
