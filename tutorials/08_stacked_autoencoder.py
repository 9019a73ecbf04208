"""Tutorial 8: the stacked autoencoder - train it end to end, then layer by layer, then as a classifier.

What is new: depth built one layer at a time, and a use for the code.  A stacked autoencoder can be
trained end to end like any deep autoencoder, or greedily: layer 1 learns to reconstruct the images,
layer 2 learns to reconstruct layer 1's codes, and so on (``train.pretrain_greedy``, which trains each
``stacked.layer_autoencoder(i)`` on ``stacked.layer_inputs(x, i)``).  The pretrained encoder then gets a
softmax layer on top (``stacked.classifier(10)``, sharing the encoder's weights) and the whole network
is fine-tuned on the labels.  We compare its test accuracy with the same classifier trained from
random weights for the same number of epochs.

Settings reproduced (the stacked autoencoder posts): end to end 784-256-128-256-784, sigmoid everywhere,
mean squared error, RMSProp with learning rate 0.02, batch size 256; for classification a 784-128-64
encoder pretrained greedily with the same optimizer, then a 10-way softmax fine-tuned with plain
gradient descent, learning rate 0.5.  The source reached 96.16% test accuracy on full MNIST.  The
4,000-image sample gives 16 steps an epoch, so we train 50 epochs end to end, 20 per layer and 30 for
fine-tuning (about 2,400 steps in all) and expect a lower accuracy.

``--faithful`` runs the post itself: 784-256-128-256-784 with every W and b drawn from N(0, 1)
(``tf.random_normal``), pretrained end to end with TF1's RMSPropOptimizer(0.02) (mean square starting
at 1, epsilon 1e-10 inside the root), batch 256, 50 epochs (the post prints epochs 0, 5, ..., 45); then a
softmax layer of zeros on the 128-unit code, everything fine-tuned with plain gradient descent 0.5.
It prints the post's losses beside tinyae's.  ``--test-digits`` trains on 8,000 of the 10,000 official
MNIST test digits (``TINYAE_DATA``) and tests on the other 2,000, for machines without the training set.

Run it:  python tutorials/08_stacked_autoencoder.py  [--quick] [--backend numpy|strict|cupy]
         [--data sample|mnist|fashion] [--epochs N (every phase)] [--out out/08_stacked_autoencoder]
         [--faithful [--test-digits]]
Writes:  reconstructions.png, pretraining.png, filters_layer1.png, classifiers.png and numbers.json
         (losses per epoch of every phase, test accuracy per epoch with and without pretraining, times);
         with --faithful: faithful_loss.png and numbers.json (the post's figures beside tinyae's).
"""

# %%
from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from pathlib import Path

import tinyae
from tinyae import cli, data, models, optim, plots, train

# The post's printed losses (epoch: MSE) and its test accuracy on full MNIST (55,000 training images,
# so 215 updates of 256 images an epoch).
POST_LOSS = {0: 0.18, 5: 0.094, 10: 0.077, 45: 0.045}
POST_ACCURACY = 0.9616
POST_STEPS_PER_EPOCH = -(-55_000 // 256)


# %%
def rmsprop(parameters: Iterable[tinyae.Tensor]) -> optim.RMSprop:
    """The source's optimizer.  Our RMSprop, like PyTorch's, starts its mean square at 0, so the first steps
    move each weight by about lr / sqrt(1 - alpha): 0.2 with PyTorch's alpha 0.99, which also takes ~100
    steps to forget that start.  Those steps saturate the sigmoid layers (38% of the codes stuck at 0 or 1
    after greedy pretraining on the sample, twice the MSE of layer 1).  TF1's RMSPropOptimizer decayed
    by 0.9, and alpha 0.9 gives steps of 0.063 and trains well."""
    return optim.RMSprop(parameters, lr=0.02, alpha=0.9)


# %%
def tf1_rmsprop(parameters: Iterable[tinyae.Tensor]) -> optim.RMSprop:
    """TF1's ``RMSPropOptimizer(0.02)``: decay 0.9, mean square starting at 1.0, epsilon 1e-10 inside
    the square root (``p -= lr * g / sqrt(ms + eps)``), so the first steps are small, not lr / sqrt(0.1)."""
    return optim.RMSprop(parameters, lr=0.02, alpha=0.9, eps=1e-10, initial_accumulator_value=1.0,
                         eps_inside_sqrt=True)  # fmt: skip


# %%
def faithful(args: argparse.Namespace, dataset: data.Dataset, out: Path) -> None:
    """The post's experiment as it ran it, with its figures printed beside tinyae's."""
    x_train, y_train, x_test, y_test = dataset
    epochs = args.epochs or (1 if args.quick else 50)
    print(f"Faithful: {len(x_train)} training and {len(x_test)} test images ({args.data_note})")
    # Pretraining end to end: N(0, 1) weights and biases, MSE, TF1 RMSProp 0.02, batch 256.
    model = models.StackedAutoencoder([784, 256, 128], init="normal:1", bias_init="normal:1")
    start = time.perf_counter()
    history = train.pretrain_end_to_end(model, tf1_rmsprop(model.parameters()), x_train, epochs,
                                        batch_size=256, progress=False)  # fmt: skip
    seconds = {"pretraining": time.perf_counter() - start}
    print("  epoch | post's MSE | tinyae's MSE (mean over the epoch's batches)")
    for epoch in range(0, min(epochs, 50), 5):  # the post's epochs
        post = f"{POST_LOSS[epoch]:.3f}" if epoch in POST_LOSS else "  -  "
        print(f"  {epoch:5d} |      {post} |       {history.loss[epoch]:.4f}")
    # A smaller data set makes fewer updates an epoch: compare after the same number of updates too.
    steps_per_epoch = -(-len(x_train) // 256)
    by_steps = {}
    print("  updates | post's MSE (epoch) | tinyae's MSE (epoch)")
    for epoch, loss in POST_LOSS.items():
        steps = (epoch + 1) * POST_STEPS_PER_EPOCH
        ours = round(steps / steps_per_epoch) - 1  # our epoch that ends nearest that many updates
        if 0 <= ours < epochs:
            by_steps[steps] = history.loss[ours]
            print(f"  {steps:7d} |       {loss:.3f} ({epoch:2d}) |       {history.loss[ours]:.4f} ({ours})")
    # Fine-tuning: a softmax layer of zeros on the code, the whole network by gradient descent 0.5.
    classifier = model.classifier(10, head_init="zeros")
    start = time.perf_counter()
    tuned = train.fit(classifier, optim.SGD(classifier.parameters(), lr=0.5), (x_train, y_train), epochs,
                      batch_size=256, progress=False)  # fmt: skip
    seconds["fine_tuning"] = time.perf_counter() - start
    accuracy = models.accuracy(classifier, x_test, y_test)
    print(
        f"  test accuracy | post {POST_ACCURACY:.2%} (full MNIST) | tinyae {accuracy:.2%} ({args.data_note})"
    )
    plots.loss_curves({"parts": {"tinyae": history.loss}}, path=out / "faithful_loss.png",
                      title="end-to-end pretraining, the post's settings: MSE per epoch")  # fmt: skip
    numbers = {
        "settings": {"faithful": True, "sizes": [784, 256, 128], "init": "normal:1", "optimizer":
                     "TF1 RMSProp 0.02, then SGD 0.5", "batch_size": 256, "epochs": epochs, "data": args.data,
                     "data_note": args.data_note, "backend": args.backend},
        "post_loss": POST_LOSS, "pretraining_loss": history.loss, "loss_after_post_updates": by_steps,
        "fine_tuning_loss": tuned.loss,
        "post_accuracy": POST_ACCURACY, "test_accuracy": accuracy, "seconds": seconds,
    }  # fmt: skip
    cli.finish_tutorial(out, numbers, "faithful_loss.png")


# %%
def load_test_digits() -> data.Dataset:
    """8,000 / 2,000 seeded split of the 10,000 official MNIST test digits (found through TINYAE_DATA)."""
    images, labels = data.load_mnist("test", download=False)
    (x_train, y_train), (x_test, y_test) = data.train_val_split(images, labels, val_size=2000, seed=0)
    return data.Dataset(x_train, y_train, x_test, y_test)


# %%
def main() -> None:
    parser = cli.tutorial_parser(
        "08_stacked_autoencoder",
        "the stacked autoencoder",
        "epochs of every phase (default 50, 20 per layer, 30)",
    )
    parser.add_argument("--faithful", action="store_true", help="the post's own settings, beside its numbers")
    parser.add_argument("--test-digits", action="store_true", help="with --faithful: 8,000/2,000 of the "
                        "10,000 MNIST test digits in TINYAE_DATA")  # fmt: skip
    args = parser.parse_args()
    out, dataset = cli.start_tutorial(args)
    if args.faithful:
        args.data_note = f"data {args.data!r}"
        if args.test_digits:
            dataset, args.data_note = load_test_digits(), "8,000 / 2,000 of the MNIST test digits"
        faithful(args, dataset, out)
        return
    end_to_end, per_layer, fine_tune = (1, 1, 1) if args.quick else (50, 20, 30)
    if args.epochs:
        end_to_end = per_layer = fine_tune = args.epochs
    x_train, y_train, x_test, y_test = dataset
    print(f"Step 1: data - {len(x_train)} training and {len(x_test)} test images from {args.data!r}")

    # Step 2: end to end, the stacked autoencoder is an ordinary deep autoencoder.
    autoencoder = models.StackedAutoencoder([784, 256, 128])  # sigmoid, loss "mse"
    print(f"Step 2: training 784-256-128-256-784 end to end, RMSProp lr 0.02, batch 256, {end_to_end} epochs")
    start = time.perf_counter()
    history = train.fit(autoencoder, rmsprop(autoencoder.parameters()), x_train, end_to_end, batch_size=256,
                        val_data=x_test, progress=False)  # fmt: skip
    seconds = {"end_to_end": time.perf_counter() - start}
    print(f"  MSE per pixel: train {history.loss[-1]:.4f}, test {history.val_loss[-1]:.4f} "
          f"({seconds['end_to_end']:.1f} s)")  # fmt: skip
    autoencoder.eval()
    with tinyae.no_grad():
        plots.reconstruction_grid(x_test[:10], autoencoder(x_test[:10]), path=out / "reconstructions.png")

    # Step 3: greedy pretraining of a 784-128-64 encoder: layer 1 on the images, layer 2 on layer 1's codes.
    stacked = models.StackedAutoencoder([784, 128, 64])
    print(f"Step 3: pretraining 784-128-64 greedily, {per_layer} epochs per layer")
    start = time.perf_counter()
    layers = train.pretrain_greedy(stacked, rmsprop, x_train, per_layer, batch_size=256, progress=False)
    seconds["pretraining"] = time.perf_counter() - start
    for i, layer_history in enumerate(layers):
        sizes = stacked.layer_autoencoder(i).sizes
        print(f"  layer {i + 1} ({sizes[0]}-{sizes[1]}-{sizes[0]}): MSE {layer_history.loss[-1]:.4f}")

    # Step 4: a softmax on top of the pretrained encoder, and the same classifier from random weights.
    # Both are fine-tuned entirely (encoder and softmax) with plain gradient descent, lr 0.5.
    classifiers = {
        "pretrained": stacked.classifier(10),
        "from scratch": models.Classifier([784, 128, 64], 10),
    }
    accuracy: dict[str, list[float]] = {}
    histories = {}
    for name, model in classifiers.items():

        def measure(epoch: int, history: train.History, model: models.Classifier, name: str = name) -> None:
            accuracy.setdefault(name, []).append(models.accuracy(model, x_test, y_test))
            if epoch % 5 == 0 or epoch == fine_tune:
                print(f"  {name} epoch {epoch}: cross-entropy {history.loss[-1]:.4f}, "
                      f"test accuracy {accuracy[name][-1]:.2%}")  # fmt: skip

        print(f"Step 4: training the classifier {name}, SGD lr 0.5, batch 256, {fine_tune} epochs")
        start, sgd = time.perf_counter(), optim.SGD(model.parameters(), lr=0.5)
        histories[name] = train.fit(
            model, sgd, (x_train, y_train), fine_tune, 256, val_data=(x_test, y_test), callbacks=[measure],
            progress=False,
        )  # fmt: skip
        seconds[name] = time.perf_counter() - start
    final = {name: values[-1] for name, values in accuracy.items()}
    print(f"Step 5: test accuracy {final['pretrained']:.2%} with pretraining, {final['from scratch']:.2%} "
          f"without (the source: 96.16% on full MNIST)")  # fmt: skip

    # Step 6: pictures.  Layer 1's filters show what greedy pretraining learned before any label was seen.
    plots.loss_curves({"parts": {f"layer {i + 1}": h.loss for i, h in enumerate(layers)}},
                      path=out / "pretraining.png", title="greedy pretraining: each layer's MSE")  # fmt: skip
    plots.filter_tile(stacked.encoder[0].linear.weight, n=100, path=out / "filters_layer1.png",
                      title="layer 1 after pretraining: 100 of 128 filters")  # fmt: skip
    plots.loss_curves({"parts": {name: h.loss for name, h in histories.items()},
                       "val_parts": {name: h.val_loss for name, h in histories.items()}},
                      path=out / "classifiers.png",
                      title="softmax cross-entropy, training and test (validation) data")  # fmt: skip

    numbers = {
        "settings": {"end_to_end": [784, 256, 128], "classifier": [784, 128, 64, 10], "rmsprop_lr": 0.02,
                     "rmsprop_alpha": 0.9, "sgd_lr": 0.5, "batch_size": 256, "epochs": [end_to_end, per_layer,
                     fine_tune], "data": args.data, "backend": args.backend},
        "end_to_end": {"train_loss": history.loss, "test_loss": history.val_loss},
        "pretraining_loss": [h.loss for h in layers],
        "classifier_loss": {name: {"train": h.loss, "test": h.val_loss} for name, h in histories.items()},
        "test_accuracy": accuracy,
        "final_accuracy": final,
        "seconds": seconds,
    }  # fmt: skip
    cli.finish_tutorial(out, numbers, "classifiers.png")


# %%
if __name__ == "__main__":
    main()
