"""Tutorial 3: a tied-weight autoencoder, its learned filters, and what the width of the code does.

What is new since step 2: *tied weights*.  The decoder reuses the encoder's weight matrix, transposed::

    h = sigmoid(x @ W + b)        W: (784, hidden), one Parameter
    z = sigmoid(h @ W.T + c)      the same W, so the model holds one weight matrix, not two

Column j of W is what hidden unit j responds to: its *filter*, drawn as a 28 x 28 image.  The step also
trains with plain SGD and the cross-entropy loss, and shows that a narrower code reconstructs worse.

Settings reproduced (the Theano autoencoder tutorial): 784-500 with sigmoid units, cross-entropy loss
summed over the pixels and averaged over the batch (``loss="bce"``), SGD with learning rate 0.1,
batches of 20; then 100 and 10 hidden units with the same settings.  The tutorial trains 15 epochs on
50,000 images (37,500 updates); the default here is 50 epochs of the 4,000-image sample (10,000 updates
per model).  Weights start from ``xavier_uniform`` (Theano multiplies
that range by 4 for sigmoid units).

``--faithful`` uses the tutorial's own start, ``init="sigmoid_uniform"`` (uniform on ``+-4 sqrt(6 /
(fan_in + fan_out))``), and its 15 epochs, and prints the post's ordering of the three errors beside
tinyae's (more hidden units, lower error).

Run it:  python tutorials/03_tied_autoencoder.py  [--quick] [--backend strict|cupy]
         [--data sample|mnist|fashion] [--epochs N] [--out DIR] [--faithful]
Writes into --out: filters.png (the first 100 filters of the 500-unit model), reconstructions.png
(inputs, then reconstructions with 500, 100 and 10 hidden units) and numbers.json (backend, data,
epochs, hidden_sizes, loss and test_loss by hidden size, seconds).
"""

# %%
from __future__ import annotations

import time

import numpy as np

import tinyae
from tinyae import cli, models, optim, plots, train

HIDDEN_SIZES = [500, 100, 10]
SHOWN = 10  # test digits in the reconstruction figure


# %%
def print_epoch(epoch: int, history: train.History, model: models.TiedAutoencoder) -> None:
    """A fit callback: the mean cost of each epoch, as the Theano tutorial prints it."""
    print(f"Training epoch {epoch}, cost {history.latest('loss'):.3f}")


# %%
def fit(model: models.TiedAutoencoder, x: np.ndarray, epochs: int, callbacks: tuple = ()) -> train.History:
    """SGD with the tutorial's learning rate and batch size."""
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    return train.fit(model, optimizer, x, epochs, batch_size=20, callbacks=callbacks)


# %%
def main() -> None:
    parser = cli.tutorial_parser(
        "03_tied_autoencoder", "a tied-weight autoencoder", "default 50 (1 with --quick)"
    )
    parser.add_argument(
        "--faithful", action="store_true", help="the tutorial's init (4x Glorot) and 15 epochs"
    )
    args = parser.parse_args()
    epochs = args.epochs or (1 if args.quick else 15 if args.faithful else 50)
    init = "sigmoid_uniform" if args.faithful else "xavier_uniform"
    out, d = cli.start_tutorial(args)
    start = time.perf_counter()

    # Step 1: the data: flattened 28 x 28 images, pixels in [0, 1].
    print(f"Step 1: {args.data}: {len(d.x_train)} training and {len(d.x_test)} test images")

    # Step 2: the tied model.  Its parameters: W (784, 500), the encoder bias b and the decoder bias c.
    model = models.TiedAutoencoder([784, HIDDEN_SIZES[0]], activation="sigmoid", loss="bce", init=init)
    shapes = ", ".join(f"{name} {p.shape}" for name, p in model.named_parameters())
    print(f"Step 2: tied autoencoder 784-{HIDDEN_SIZES[0]}-784, parameters: {shapes}")

    # Step 3: train with plain SGD, a fixed learning rate, 20 images per update.
    print(f"Step 3: {epochs} epochs of SGD, lr 0.1, batches of 20, cross-entropy loss")
    history = fit(model, d.x_train, epochs, callbacks=(print_epoch,))

    # Step 4: the filters.  W has shape (784, 500); column j, shown as 28 x 28, is unit j's filter.
    (W,) = model.weights()  # one weight matrix: the decoder's W.T is the same Parameter
    plots.filter_tile(W, n=100, path=out / "filters.png", title=f"first 100 of {W.shape[1]} tied filters")
    print(f"Step 4: drew the first 100 columns of W {W.shape} as filters")

    # Step 5: the same with 100 and 10 hidden units: the narrower the code, the blurrier the digit.
    trained = {HIDDEN_SIZES[0]: (model, history)}
    for hidden in HIDDEN_SIZES[1:]:
        print(f"Step 5: training 784-{hidden}-784 with the same settings")
        narrow = models.TiedAutoencoder([784, hidden], activation="sigmoid", loss="bce", init=init)
        trained[hidden] = (narrow, fit(narrow, d.x_train, epochs))
    losses, test_losses, rows = {}, {}, [d.x_test[:SHOWN]]
    for hidden, (model, history) in trained.items():
        losses[hidden] = history.loss
        test_losses[hidden] = train.evaluate(model, d.x_test)["loss"]  # cross-entropy per test image
        cost, test_cost = losses[hidden][-1], test_losses[hidden]
        print(f"        784-{hidden}: training cost {cost:.2f}, test cost {test_cost:.2f}")
        with tinyae.no_grad():
            rows.append(model(d.x_test[:SHOWN]).numpy())
    labels = ["input"] + [f"{n} hidden" for n in HIDDEN_SIZES]
    titles = [labels[r] if c == 0 else "" for r in range(len(rows)) for c in range(SHOWN)]
    grid = np.concatenate(rows)  # (4 * SHOWN, 784): the inputs, then one row per width
    plots.image_grid(grid, len(rows), SHOWN, titles=titles, path=out / "reconstructions.png")

    if args.faithful:  # the post reports the ordering only: the wider the code, the lower the error
        ranks = {n: sorted(test_losses, key=test_losses.__getitem__).index(n) + 1 for n in HIDDEN_SIZES}
        print(f"  hidden units | post's rank | tinyae's test cross-entropy (rank), data {args.data!r}")
        for rank, n in enumerate(HIDDEN_SIZES, start=1):
            print(f"  {n:12d} | {rank:11d} | {test_losses[n]:.2f} ({ranks[n]})")

    numbers = {
        "backend": args.backend,
        "data": args.data,
        "epochs": epochs,
        "init": init,
        "hidden_sizes": HIDDEN_SIZES,
        "loss": {str(n): losses[n] for n in HIDDEN_SIZES},
        "test_loss": {str(n): test_losses[n] for n in HIDDEN_SIZES},
        "seconds": time.perf_counter() - start,
    }
    cli.finish_tutorial(out, numbers, "reconstructions.png")


# %%
if __name__ == "__main__":
    main()
