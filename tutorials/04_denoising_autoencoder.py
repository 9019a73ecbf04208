"""Tutorial 4: a denoising autoencoder - learn to undo corruption, and get better filters for it.

What is new since step 3: *noise in the loss*.  Each training batch is corrupted before it is encoded,
and the reconstruction is compared with the clean batch::

    x~ = masking_noise(x, 0.3)      each pixel set to 0 with probability 0.3, drawn anew every batch
    loss = BCE(decode(encode(x~)), x)

The model can no longer copy its input; it has to learn what digits look like in order to fill in the
missing pixels.  Its filters change visibly: many of step 3's speckled filters become blobs and strokes.
Corruption happens only in training mode; in evaluation mode the model sees the clean input.

Settings reproduced (the Theano denoising autoencoder tutorial): the tied 784-500 sigmoid model of step
3 (cross-entropy, SGD with learning rate 0.1, batches of 20) trained twice, without corruption and with
30% masking noise.  The tutorial trains 15 epochs of 50,000 images; the default here is 40 epochs of
the 4,000-image sample per model (8,000 updates).

Run it:  python tutorials/04_denoising_autoencoder.py  [--quick] [--backend strict|cupy]
         [--data sample|mnist|fashion] [--epochs N] [--noise-level P] [--out DIR]
Writes into --out: denoising.png (clean digits, corrupted copies, and the reconstructions of the copies by
both models), filters_plain.png, filters_denoising.png and numbers.json (backend, data, epochs,
noise_level, loss_plain, loss_denoising, test_loss_plain, test_loss_denoising, denoise_error_plain,
denoise_error_denoising, seconds).
"""

# %%
from __future__ import annotations

import time

import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import cli, models, optim, plots, train

SHOWN = 10  # test digits in the figure


# %%
def main() -> None:
    parser = cli.tutorial_parser(
        "04_denoising_autoencoder", "a denoising autoencoder", "default 40 (1 with --quick)"
    )
    parser.add_argument("--noise-level", type=float, default=0.3, help="fraction of pixels set to 0")
    args = parser.parse_args()
    epochs = args.epochs or (1 if args.quick else 40)
    out, d = cli.start_tutorial(args)
    start = time.perf_counter()

    # Step 1: the data: flattened 28 x 28 images, pixels in [0, 1].
    print(f"Step 1: {args.data}: {len(d.x_train)} training and {len(d.x_test)} test images")

    # Step 2: two tied 784-500 models.  The plain one is step 3's; the denoising one adds the corruption.
    plain = models.TiedAutoencoder([784, 500], activation="sigmoid", loss="bce")
    denoising = models.DenoisingAutoencoder(
        [784, 500], noise="masking", noise_level=args.noise_level, tied=True, activation="sigmoid", loss="bce"
    )
    print(
        f"Step 2: two tied 784-500-784 sigmoid autoencoders; the second corrupts its training batches with "
        f"{denoising.noise} noise, level {denoising.noise_level}"
    )

    # Step 3: train both the same way.  fit seeds the noise, so a rerun corrupts the same pixels.
    histories, test_losses = {}, {}
    for name, model in (("plain", plain), ("denoising", denoising)):
        print(f"Step 3: training the {name} autoencoder: {epochs} epochs of SGD, lr 0.1, batches of 20")
        optimizer = optim.SGD(model.parameters(), lr=0.1)
        histories[name] = train.fit(model, optimizer, d.x_train, epochs, batch_size=20)
        test_losses[name] = train.evaluate(model, d.x_test)["loss"]  # evaluation mode: clean inputs
        cost = histories[name].loss[-1]
        print(f"        training cost {cost:.2f}, clean test cost {test_losses[name]:.2f}")

    # Step 4: corrupt test digits the same way and ask both models for the clean digit back.
    clean = d.x_test
    corrupted = F.masking_noise(tinyae.tensor(clean), args.noise_level)  # the backend's seeded generator
    rows, errors = [clean[:SHOWN], corrupted.numpy()[:SHOWN]], {}
    with tinyae.no_grad():
        for name, model in (("denoising", denoising), ("plain", plain)):
            restored = model(corrupted).numpy()
            errors[name] = float(np.mean(np.sum((restored - clean) ** 2, axis=1)))  # per image
            rows.append(restored[:SHOWN])
    print(
        f"Step 4: squared error of the corrupted test digits' reconstructions against the clean ones: "
        f"denoising {errors['denoising']:.2f}, plain {errors['plain']:.2f} per image"
    )
    labels = ["clean", f"{args.noise_level:.0%} masked", "denoising AE", "plain AE"]
    titles = [labels[r] if c == 0 else "" for r in range(len(rows)) for c in range(SHOWN)]
    plots.image_grid(np.concatenate(rows), len(rows), SHOWN, titles=titles, path=out / "denoising.png")

    # Step 5: the filters (columns of W) of both models, drawn the same way as in step 3.
    for name, model in (("plain", plain), ("denoising", denoising)):
        (W,) = model.weights()
        title = f"{name} autoencoder: first 100 of 500 filters"
        plots.filter_tile(W, n=100, path=out / f"filters_{name}.png", title=title)
    print("Step 5: drew the first 100 filters of each model")

    numbers = {
        "backend": args.backend,
        "data": args.data,
        "epochs": epochs,
        "noise_level": args.noise_level,
        "loss_plain": histories["plain"].loss,
        "loss_denoising": histories["denoising"].loss,
        "test_loss_plain": test_losses["plain"],
        "test_loss_denoising": test_losses["denoising"],
        "denoise_error_plain": errors["plain"],
        "denoise_error_denoising": errors["denoising"],
        "seconds": time.perf_counter() - start,
    }
    cli.finish_tutorial(out, numbers, "denoising.png")


# %%
if __name__ == "__main__":
    main()
