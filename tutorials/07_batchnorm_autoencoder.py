"""Tutorial 7: the batch-norm autoencoder - a deep autoencoder with two modes, training and evaluation.

What is new: a layer whose output depends on the *batch*, and so on the mode.  Batch normalisation puts
``(y - mean) / sqrt(var + eps)``, then a learned scale and shift, between every linear layer and its
activation.  In training mode mean and var are the current batch's, and the layer keeps moving averages
of them (``running = 0.9 * running + 0.1 * batch``: decay 0.9, PyTorch's momentum 0.1).  In evaluation
mode those averages are used instead, so a sample's output no longer depends on its batch-mates.
``fit`` trains in training mode; ``evaluate`` (and ``fit``'s validation, ``val_data``) uses evaluation
mode.  We measure the difference on one batch and show it on ten digits.

Settings reproduced (the batch-norm autoencoder post): 784-400-300-200-20 and its mirror 20-200-300-400
-784, batch norm (decay 0.9) after every linear layer but the output one, ReLU (``--activation softplus``
for the other variant), loss = batch mean of each sample's L2 norm of the error (``"l2_norm"``), Adam
with learning rate 1e-3, batch size 128.  The output layer is a sigmoid (pixels lie in [0, 1]).  We train
20 epochs of 32 steps on the sample.

``--faithful`` runs the post's TensorFlow details: He normal weights and biases (``init="he_normal",
bias_init="he_normal"``), batch norm with epsilon 1e-3 and the biased variance of ``tf.nn.moments``
in its moving averages (``norm_options``), and TF1's Adam (epsilon on the bias-corrected step,
``optim.Adam(..., eps_hat=True)``).

Run it:  python tutorials/07_batchnorm_autoencoder.py  [--quick] [--backend numpy|strict|cupy]
         [--data sample|mnist|fashion] [--epochs N] [--activation relu|softplus] [--out DIR] [--faithful]
Writes:  loss.png, reconstructions.png, modes.png and numbers.json (train and test loss per epoch, the
         one-batch losses in both modes, the batch dependence, times) into --out
         (default out/07_batchnorm_autoencoder).
"""

# %%
from __future__ import annotations

import time

import numpy as np

import tinyae
from tinyae import cli, models, optim, plots, train

# The post's TensorFlow settings: tf.nn.moments + ExponentialMovingAverage(0.9), epsilon 1e-3, He init.
FAITHFUL = {
    "init": "he_normal",
    "bias_init": "he_normal",
    "norm_options": {"eps": 1e-3, "momentum": 0.1, "unbiased_running_var": False},
}


# %%
def in_mode(model: models.Autoencoder, x: np.ndarray, training: bool) -> tuple[float, np.ndarray]:
    """The loss and the reconstruction of the batch ``x`` in training or evaluation mode.

    A training-mode forward moves the running averages, so they are saved first and put back after."""
    saved = model.state_dict()
    model.train(training)
    with tinyae.no_grad():
        loss, output = model.loss(x)[0].item(), model(x).numpy()
    model.load_state_dict(saved)
    return loss, output


# %%
def main() -> None:
    parser = cli.tutorial_parser(
        "07_batchnorm_autoencoder", "the batch-norm autoencoder", "training epochs (default 20, quick 1)"
    )
    parser.add_argument("--activation", default="relu", choices=["relu", "softplus"], help="hidden layers")
    parser.add_argument("--faithful", action="store_true", help="the post's init, batch norm and TF1 Adam")
    args = parser.parse_args()
    out, dataset = cli.start_tutorial(args)
    epochs = args.epochs or (1 if args.quick else 20)
    x_train, x_test = dataset.x_train, dataset.x_test
    print(f"Step 1: data - {len(x_train)} training and {len(x_test)} test images from {args.data!r}")

    # Step 2: batch_norm=True adds a BatchNorm1d after each linear layer (which then drops its bias:
    # the norm's shift replaces it).  Its running averages are buffers: saved in state_dict, never trained.
    model = models.Autoencoder([784, 400, 300, 200, 20], args.activation, loss="l2_norm", batch_norm=True,
                               **(FAITHFUL if args.faithful else {}))  # fmt: skip
    norm = model.encoder[0].norm
    print(f"Step 2: {len(list(model.buffers()))} running averages beside {len(list(model.parameters()))} "
          f"parameters; first norm: {norm}")  # fmt: skip

    # Step 3: the running averages start at 0 and 1, so even untrained the two modes normalise differently.
    batch = x_test[:128]
    before = {mode: in_mode(model, batch, mode == "train")[0] for mode in ("train", "eval")}
    print(f"Step 3: one test batch before training: loss {before['train']:.3f} in training mode, "
          f"{before['eval']:.3f} in evaluation mode")  # fmt: skip

    # Step 4: train.  The training loss is measured in training mode as the weights move; the test loss
    # (val_data) after each epoch, in evaluation mode on the running averages.
    def report(epoch: int, history: train.History, model: models.Autoencoder) -> None:
        print(f"  epoch {epoch}: train loss {history.loss[-1]:.4f}, test loss {history.val_loss[-1]:.4f}")

    print(f"Step 4: training {epochs} epochs, Adam lr 1e-3, batch 128, {args.activation}")
    start = time.perf_counter()
    adam = optim.Adam(model.parameters(), lr=1e-3, **({"eps_hat": True} if args.faithful else {}))
    history = train.fit(model, adam, x_train, epochs, batch_size=128,
                        val_data=x_test, callbacks=[report], progress=False)  # fmt: skip
    seconds = time.perf_counter() - start
    after = {mode: in_mode(model, batch, mode == "train")[0] for mode in ("train", "eval")}
    print(f"  the same batch after training: {after['train']:.4f} in training mode, "
          f"{after['eval']:.4f} in evaluation mode ({seconds:.1f} s)")  # fmt: skip
    print(f"  running mean of the first norm, first 3 units: {norm.running_mean.numpy()[:3].round(3)}")

    # Step 5: in training mode the same ten digits come out differently in another batch; in evaluation
    # mode they do not.  (Training mode needs two or more samples: alone, every unit would normalise to 0.)
    ten = x_test[:10]
    eval_alone, eval_in_batch = in_mode(model, ten, False)[1], in_mode(model, batch, False)[1][:10]
    train_alone, train_in_batch = in_mode(model, ten, True)[1], in_mode(model, batch, True)[1][:10]
    dependence = {"train": float(np.abs(train_alone - train_in_batch).max()),
                  "eval": float(np.abs(eval_alone - eval_in_batch).max())}  # fmt: skip
    print(f"Step 5: ten digits alone vs in a batch of 128: outputs differ by up to {dependence['train']:.4f}"
          f" in training mode, {dependence['eval']:.2g} in evaluation mode")  # fmt: skip

    # Step 6: pictures.  Reconstructions are made in evaluation mode, as they would be in use.
    curves = {"loss": history.loss, "val_loss": history.val_loss}  # the only part is the total: one panel
    title = f"batch-norm autoencoder ({args.activation}): mean L2 error norm per epoch"
    plots.loss_curves(curves, path=out / "loss.png", title=title)
    plots.reconstruction_grid(ten, eval_alone, path=out / "reconstructions.png", difference=True)
    rows = ["original", "eval mode", "train, n=10", "train, n=128"]  # n: the batch it sat in
    titles = [rows[k // 10] if k % 10 == 0 else "" for k in range(40)]
    plots.image_grid(np.concatenate([ten, eval_alone, train_alone, train_in_batch]), 4, 10,
                     titles=titles, path=out / "modes.png")  # fmt: skip

    numbers = {
        "settings": {"sizes": [784, 400, 300, 200, 20], "activation": args.activation, "loss": "l2_norm",
                     "momentum": 0.1, "lr": 1e-3, "batch_size": 128, "epochs": epochs, "data": args.data,
                     "backend": args.backend, "faithful": args.faithful},
        "train_loss": history.loss,
        "test_loss": history.val_loss,
        "batch_loss_before": before,
        "batch_loss_after": after,
        "batch_dependence": dependence,
        "epoch_seconds": history.seconds,
        "seconds": seconds,
    }  # fmt: skip
    cli.finish_tutorial(out, numbers, "modes.png")


# %%
if __name__ == "__main__":
    main()
