"""Tutorial 9: the variational autoencoder, and anomaly detection with it.

What is new: a probabilistic code.  The VAE's encoder gives a distribution ``q(z|x) = N(mu, exp(log_var))``
instead of a point; training draws ``z = mu + exp(log_var / 2) * eps`` (the reparameterisation, so the
gradient flows through the draw) and minimises the negative ELBO: the decoder's ``-log p(x|z)`` plus
``KL(q(z|x) || N(0, I))``, the two loss parts ``fit`` records.  Because the model knows only what it
was trained on, a digit it has never seen reconstructs badly and looks improbable to it.  So we train on
the digit 1 alone and score held-out 1s (normal) and 9s (anomalies) three ways, each higher = stranger:

- reconstruction error ``|x - decode(mu(x))|_2``,
- the negative ELBO, averaged over L draws of z,
- minus the reconstruction probability of An and Cho (2015): ``(1/L) sum_l log p(x | z_l)``, z_l ~ q(z|x).

ROC curves and their AUC rate the scores.  Last, a VAE with a 2-D code trained on all digits draws its
latent space: where the test digits land, and what the decoder paints across the plane.

Settings reproduced (the VAE posts): 784-400-20 with a Bernoulli decoder, ReLU, Adam with learning rate
1e-3, batch size 128; L = 10 draws for the sampled scores; the map's VAE is 784-400-2.  The sample holds
about 400 training 1s (4 steps an epoch), so the anomaly VAE trains 100 epochs and the map's VAE 50.
Telling 9s from 1s turns out easy (every AUC near 1); ``--normal 4 --anomaly 9`` is a hard case.

``--faithful`` trains with TF1's Adam (epsilon on the bias-corrected step, ``eps_hat=True``), as the
TensorFlow post did, and adds the score of the paper it cites, An and Cho (2015), under the name that
says what it is: ``unregularised``, the negative ELBO with its KL term dropped (``(1/L) sum_l -log p(x |
z_l)``; the same number as minus the reconstruction probability, computed with its own draws).

Run it:  python tutorials/09_vae_anomaly_detection.py  [--quick] [--backend numpy|strict|cupy]
         [--data sample|mnist|fashion] [--epochs N] [--samples L] [--normal 1] [--anomaly 9] [--out DIR]
         [--faithful]
Writes:  reconstructions_normal.png, reconstructions_anomaly.png, histogram_{l2,elbo,probability}.png,
         roc.png, prior_samples.png, latent_scatter.png, latent_manifold.png and numbers.json (losses per
         epoch, AUC of each score, times) into --out (default out/09_vae_anomaly_detection); with
         --faithful also histogram_unregularised.png.
"""

# %%
from __future__ import annotations

import time

import numpy as np

import tinyae
from tinyae import cli, data, models, optim, plots, train

SCORES = {"l2": "reconstruction error", "elbo": "negative ELBO", "probability": "-reconstruction probability"}


# %%
def train_vae(
    vae: models.VAE, x: np.ndarray, epochs: int, val: np.ndarray, tf1_adam: bool = False
) -> tuple[train.History, float]:
    """Adam 1e-3, batch 128, printing the loss parts every tenth epoch; returns the history and seconds."""

    def report(epoch: int, history: train.History, model: models.VAE) -> None:
        if epoch % 10 == 0 or epoch == epochs:
            reconstruction, kl = history.parts["reconstruction"][-1], history.parts["kl"][-1]
            print(f"  epoch {epoch}: -ELBO {history.loss[-1]:.1f} = reconstruction {reconstruction:.1f} + KL "
                  f"{kl:.1f}; test {history.val_loss[-1]:.1f}")  # fmt: skip

    start = time.perf_counter()
    adam = optim.Adam(vae.parameters(), lr=1e-3, **({"eps_hat": True} if tf1_adam else {}))
    history = train.fit(
        vae, adam, x, epochs, batch_size=128, val_data=val, callbacks=[report], progress=False
    )
    return history, time.perf_counter() - start


# %%
def main() -> None:
    parser = cli.tutorial_parser(
        "09_vae_anomaly_detection",
        "VAE and anomaly detection",
        "epochs of each VAE (default 100 and 50, quick 1)",
    )
    parser.add_argument("--samples", type=int, default=10, help="L, draws of z for the sampled scores")
    parser.add_argument("--normal", type=int, default=1, help="the class to train on")
    parser.add_argument("--anomaly", type=int, default=9, help="the class to detect")
    parser.add_argument(
        "--faithful", action="store_true", help="TF1 Adam, and An and Cho's unregularised score"
    )
    args = parser.parse_args()
    scored = {**SCORES, "unregularised": "unregularised (An & Cho)"} if args.faithful else SCORES
    out, dataset = cli.start_tutorial(args)
    epochs, map_epochs = (1, 1) if args.quick else (100, 50)
    if args.epochs:
        epochs = map_epochs = args.epochs
    x_train, y_train, x_test, y_test = dataset
    normal, _ = data.subset(x_train, y_train, args.normal)
    x_scored, y_scored = data.subset(x_test, y_test, [args.normal, args.anomaly])
    is_anomaly = (y_scored == args.anomaly).astype(np.int64)  # the labels of the ROC: 1 = anomaly
    groups = {f"class {args.normal}": is_anomaly == 0, f"class {args.anomaly}": is_anomaly == 1}
    print(f"Step 1: {len(normal)} training images of class {args.normal}; scoring {len(x_scored)} test "
          f"images, {int(is_anomaly.sum())} of them class {args.anomaly}")  # fmt: skip

    # Step 2: train on the normal class only (its test images as validation data).
    vae = models.VAE(784, hidden=400, latent=20, likelihood="bernoulli")
    print(f"Step 2: training a 784-400-20 VAE on class {args.normal}, {epochs} epochs")
    history, seconds = train_vae(vae, normal, epochs, x_scored[is_anomaly == 0], args.faithful)

    # Step 3: score.  Every score runs in evaluation mode without a graph; the sampled ones draw L codes.
    scores = {key: models.anomaly_scores(vae, x_scored, key, samples=args.samples).numpy() for key in scored}
    aucs = {key: models.roc_auc(value, is_anomaly) for key, value in scores.items()}
    print(f"Step 3: scores of the held-out images (L = {args.samples}), mean for class {args.normal} vs "
          f"class {args.anomaly}, and ROC AUC:")  # fmt: skip
    means = {key: [float(value[mask].mean()) for mask in groups.values()] for key, value in scores.items()}
    for key, (normal_mean, anomaly_mean) in means.items():
        print(f"  {scored[key]:>28}: {normal_mean:9.2f} vs {anomaly_mean:9.2f}, AUC {aucs[key]:.4f}")

    # Step 4: pictures of the anomaly detector.  The difference rows show where a digit was not understood.
    for name, mask in zip(("normal", "anomaly"), groups.values(), strict=True):
        shown = x_scored[mask][:10]
        path = out / f"reconstructions_{name}.png"
        plots.reconstruction_grid(shown, vae.reconstruct(shown), path=path, difference=True)
    for key, value in scores.items():
        title = f"{scored[key]} (AUC {aucs[key]:.3f})"
        by_group = {group: value[mask] for group, mask in groups.items()}
        plots.score_histograms(by_group, path=out / f"histogram_{key}.png", title=title)
    plots.roc_plot({scored[key]: (value, is_anomaly) for key, value in scores.items()}, path=out / "roc.png",
                   title=f"class {args.anomaly} among class {args.normal}: ROC")  # fmt: skip
    plots.image_grid(vae.sample(64), 8, 8, path=out / "prior_samples.png")  # decode(z), z ~ N(0, I)
    print("Step 4: samples from the prior look like the only digit the VAE knows (prior_samples.png)")

    # Step 5: a 2-D code trained on every digit: a map we can draw.
    small = models.VAE(784, hidden=400, latent=2, likelihood="bernoulli")
    print(f"Step 5: training a 784-400-2 VAE on all {len(x_train)} training images, {map_epochs} epochs")
    map_history, map_seconds = train_vae(small, x_train, map_epochs, x_test, args.faithful)
    with tinyae.no_grad():
        small.eval()
        plots.latent_scatter(small.encode(x_test)[0], y_test, path=out / "latent_scatter.png",
                             title="test images at their mean codes mu(x)")  # fmt: skip
        plots.latent_manifold(small.decode, n=15, span=3.0, path=out / "latent_manifold.png")

    numbers = {
        "settings": {"vae": [784, 400, 20], "map_vae": [784, 400, 2], "likelihood": "bernoulli", "lr": 1e-3,
                     "batch_size": 128, "epochs": [epochs, map_epochs], "samples": args.samples, "normal":
                     args.normal, "anomaly": args.anomaly, "data": args.data, "backend": args.backend,
                     "faithful": args.faithful},
        "train_loss": history.loss,
        "test_loss": history.val_loss,
        "parts": history.parts,
        "auc": aucs,
        "mean_scores": {key: dict(zip(("normal", "anomaly"), v, strict=True)) for key, v in means.items()},
        "map_train_loss": map_history.loss,
        "map_test_loss": map_history.val_loss,
        "seconds": {"vae": seconds, "map_vae": map_seconds},
    }  # fmt: skip
    cli.finish_tutorial(out, numbers, "reconstructions_anomaly.png")


# %%
if __name__ == "__main__":
    main()
