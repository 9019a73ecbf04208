"""Tutorial 2: a deep autoencoder trained on digits, and its reconstruction error as an anomaly score.

What is new since step 1: instead of hand-made tensors, a model, an optimizer and a training loop from
the library (``models.Autoencoder``, ``optim.Adam``, ``train.fit``), figures from ``tinyae.plots``, and a
first use of a trained autoencoder: images it reconstructs badly are likely unlike its training data.

Settings reproduced (the TensorFlow autoencoder post): layers 784-500-300-20-300-500-784, ReLU on the
hidden and code layers, sigmoid output, loss ``tf.nn.l2_loss`` = 0.5 * sum of squared errors over the
batch (``loss="l2"``), Adam (at its usual learning rate, 0.001), batches of 100.  The post trains on
the 55,000 MNIST images; the default here is the 4,000 training digits of the embedded sample for 30
epochs.

Anomaly detection: a second autoencoder with the same settings is trained on every training digit except
one (``--anomaly-digit``, default 2).  On the test set, the held-out digit is the anomaly and the
per-image L2 reconstruction error ``|x - xhat|`` is the score; the ROC AUC says how well it separates the
two.  The first model, which saw that digit in training, is scored the same way for comparison.  The
choice of digit matters: a 1 has so little ink that it is reconstructed *better* than the normal digits
(AUC below 0.5), and 7s and 9s look like the 1s and 4s the model knows.

``--faithful`` runs the post's own flow: every W and b drawn from ``tf.truncated_normal(stddev=0.1)``
(``init="truncated_normal:0.1"``: draws beyond two standard deviations are drawn again), a validation
split held out of the training images (the post: 5,000 of MNIST's 60,000; here a seeded tenth), the
validation score printed each epoch and the test score at the end, each score being ``tf.nn.l2_loss``
divided by the number of images (the post's "l2 loss / batch size", over the whole split at once).

Run it:  python tutorials/02_tensorflow_autoencoder.py  [--quick] [--backend strict|cupy]
         [--data sample|mnist|fashion] [--epochs N] [--anomaly-digit D] [--out DIR] [--faithful]
Writes into --out: loss.png, reconstructions.png, anomaly_scores.png, roc.png and numbers.json
(backend, data, epochs, loss, val_loss, test_score, anomaly_digit, auc, auc_seen, seconds); with
--faithful loss.png and numbers.json (backend, data, epochs, faithful, loss, val_score, test_score,
seconds).
"""

# %%
from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

import tinyae
from tinyae import cli, data, models, optim, plots, train

SIZES = [784, 500, 300, 20]  # the encoder; the decoder mirrors it: 20-300-500-784


# %%
def print_epoch(epoch: int, history: train.History, model: models.Autoencoder) -> None:
    """A fit callback: one line per epoch, as the post prints its cost."""
    cost, test_cost = history.latest("loss"), history.latest("val_loss")
    print(f"Epoch: {epoch:04d} cost= {cost:.2f}  test cost= {test_cost:.2f}")


# %%
def new_model() -> models.Autoencoder:
    return models.Autoencoder(SIZES, activation="relu", output_activation="sigmoid", loss="l2")


# %%
def fit(model: models.Autoencoder, x: np.ndarray, epochs: int, val: Any = None) -> train.History:
    """Adam with the post's learning rate and batch size; with ``val``, print the costs after each epoch."""
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    report = [] if val is None else [print_epoch]  # without: a progress bar, shown in a terminal only
    return train.fit(model, optimizer, x, epochs, batch_size=100, val_data=val, callbacks=report)


# %%
def l2_score(model: models.Autoencoder, x: np.ndarray) -> float:
    """The post's score: ``tf.nn.l2_loss(xhat - x) / batch_size`` with the whole split as the batch."""
    errors = models.reconstruction_error(model, x).numpy()  # |x - xhat| per image
    return float(np.sum(0.5 * errors.astype(np.float64) ** 2) / len(x))


# %%
def faithful(args: argparse.Namespace, d: data.Dataset, epochs: int, out: Path) -> None:
    """The post's settings and its train / validation / test flow."""
    start = time.perf_counter()
    # Hold a validation split out of the training images; the test images stay unseen until the end.
    (x_train,), (x_val,) = data.train_val_split(d.x_train, val_size=0.1, seed=0)
    print(f"Faithful: {len(x_train)} training, {len(x_val)} validation, {len(d.x_test)} test images "
          f"({args.data!r})")  # fmt: skip
    # The post's model: truncated normal (std 0.1) weights and biases, Adam 0.001, batch 100.
    model = models.Autoencoder(SIZES, activation="relu", output_activation="sigmoid", loss="l2",
                               init="truncated_normal:0.1", bias_init="truncated_normal:0.1")  # fmt: skip
    val_scores: list[float] = []

    def validate(epoch: int, history: train.History, model: models.Autoencoder) -> None:
        val_scores.append(l2_score(model, x_val))
        print(
            f"Epoch: {epoch:04d} cost= {history.latest('loss'):.2f}  validation score= {val_scores[-1]:.3f}"
        )

    history = train.fit(model, optim.Adam(model.parameters(), lr=0.001), x_train, epochs, batch_size=100,
                        callbacks=[validate], progress=False)  # fmt: skip
    test_score = l2_score(model, d.x_test)
    print(f"Test score (l2 loss / number of images) = {test_score:.3f}")
    plots.loss_curves({"loss": history.loss}, path=out / "loss.png", title="l2 loss per batch of 100")
    numbers = {"backend": args.backend, "data": args.data, "epochs": epochs, "faithful": True,
               "loss": history.loss, "val_score": val_scores, "test_score": test_score,
               "seconds": time.perf_counter() - start}  # fmt: skip
    cli.finish_tutorial(out, numbers, "loss.png")


# %%
def main() -> None:
    parser = cli.tutorial_parser(
        "02_tensorflow_autoencoder", "a deep autoencoder and anomalies", "default 30 (1 with --quick)"
    )
    parser.add_argument("--anomaly-digit", type=int, default=2, choices=range(10), help="class left out")
    parser.add_argument(
        "--faithful", action="store_true", help="the post's init and train/validation/test flow"
    )
    args = parser.parse_args()
    epochs = args.epochs or (1 if args.quick else 30)
    out, d = cli.start_tutorial(args)
    if args.faithful:
        faithful(args, d, epochs, out)
        return
    start = time.perf_counter()

    # Step 1: the data: flattened 28 x 28 images, pixels in [0, 1], and their labels.
    print(f"Step 1: {args.data}: {len(d.x_train)} training and {len(d.x_test)} test images of 784 pixels")

    # Step 2: the model.  Autoencoder([784, 500, 300, 20]) builds the encoder and mirrors it as decoder.
    model = new_model()
    n_params = sum(p.size for p in model.parameters())
    layers = "-".join(str(n) for n in SIZES + SIZES[-2::-1])
    print(f"Step 2: autoencoder {layers}, ReLU, sigmoid output, {n_params:,} parameters")

    # Step 3: train on every digit; the test images serve as validation data, evaluated after each epoch.
    print(f"Step 3: training for {epochs} epochs, Adam lr 0.001, batches of 100 (cost = l2 loss per batch)")
    history = fit(model, d.x_train, epochs, val=d.x_test)

    # Step 4: the test score: the mean over test images of each image's l2 loss, 0.5 * |x - xhat|^2.
    errors = models.reconstruction_error(model, d.x_test).numpy()  # |x - xhat| per image, (n_test,)
    test_score = float(np.mean(0.5 * errors**2))
    print(f"Step 4: test score (mean l2 loss per test image) = {test_score:.3f}")
    with tinyae.no_grad():
        reconstructions = model(d.x_test[:10])
    curves = {"loss": history.loss, "val_loss": history.val_loss}  # one part only: no parts panel
    plots.loss_curves(curves, path=out / "loss.png", title="l2 loss per batch of 100 (validation: test set)")
    plots.reconstruction_grid(d.x_test[:10], reconstructions, n=10, path=out / "reconstructions.png")

    # Step 5: anomaly detection.  Train a second model without one digit, then score every test image.
    digit = args.anomaly_digit
    normal = d.y_train != digit
    print(f"Step 5: training a detector on the {int(normal.sum())} training images that are not a {digit}")
    detector = new_model()
    fit(detector, d.x_train[normal], epochs)
    scores = models.reconstruction_error(detector, d.x_test).numpy()
    is_anomaly = d.y_test == digit
    auc = models.roc_auc(scores, is_anomaly)
    auc_seen = models.roc_auc(errors, is_anomaly)  # the first model has seen this digit in training
    print(
        f"        ROC AUC for digit {digit}: {auc:.3f} (the first model, which saw {digit}s: {auc_seen:.3f})"
    )
    plots.score_histograms(
        {"normal: other digits": scores[~is_anomaly], f"anomaly: digit {digit}": scores[is_anomaly]},
        bins=30,
        density=True,
        path=out / "anomaly_scores.png",
        title=f"L2 reconstruction error of a model trained without {digit}s",
    )
    plots.roc_plot(
        {f"trained without {digit}s": (scores, is_anomaly), f"trained with {digit}s": (errors, is_anomaly)},
        path=out / "roc.png",
        title=f"digit {digit} as the anomaly",
    )

    numbers = {
        "backend": args.backend,
        "data": args.data,
        "epochs": epochs,
        "loss": history.loss,
        "val_loss": history.val_loss,
        "test_score": test_score,
        "anomaly_digit": digit,
        "auc": auc,
        "auc_seen": auc_seen,
        "seconds": time.perf_counter() - start,
    }
    cli.finish_tutorial(out, numbers, "roc.png")


# %%
if __name__ == "__main__":
    main()
