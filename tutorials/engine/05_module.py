"""Engine step 5: a ``Module`` - an object that owns its parameters and finds those of its parts.

What is new: bookkeeping, not math.  With two layers, ``[W1, b1, W2, b2]`` can still be listed by hand;
with a stacked autoencoder it cannot.  A module notices every ``Parameter`` and sub-module assigned to it
(``self.weight = ...``), in order, so that ``model.named_parameters()`` lists them all, each once, even a
weight that two layers share.  We write a miniature of it (``MiniModule``, 20 lines), build a tied
autoencoder with it and with ``tinyae.nn.Module``, and check names, outputs and gradients agree.

Run it:  python tutorials/engine/05_module.py
"""

# %%
import numpy as np

import tinyae
import tinyae.functional as F
from tinyae import nn


class MiniModule:
    """Registers parameters and sub-modules as they are assigned; finds them all, each once."""

    def __init__(self):
        object.__setattr__(self, "_own", {})  # name -> Parameter or MiniModule, in assignment order

    def __setattr__(self, name, value):
        if isinstance(value, (nn.Parameter, MiniModule)):
            self._own[name] = value
        object.__setattr__(self, name, value)  # still a plain attribute: a typo is an AttributeError

    def named_parameters(self, prefix="", seen=None):
        seen = set() if seen is None else seen  # ids already listed: a shared weight appears once
        for name, p in self._own.items():  # a module's own parameters first...
            if isinstance(p, nn.Parameter) and id(p) not in seen:
                seen.add(id(p))
                yield prefix + name, p
        for name, part in self._own.items():  # ...then those of its parts, under "part." names
            if isinstance(part, MiniModule):
                yield from part.named_parameters(f"{prefix}{name}.", seen)

    def __call__(self, *args):
        return self.forward(*args)


# %% [markdown]
# ## A tied autoencoder, twice
# The decoder reuses the encoder's weight, transposed (`W.T`), and has a bias `c` of its own.  The
# model class is written once, over either base class.

# %%
rng = np.random.default_rng(0)
W0, b0, c0 = rng.normal(0, 0.3, (6, 3)), np.zeros(3), np.zeros(6)


def make_model(base, linear):
    class TiedAutoencoder(base):
        def __init__(self):
            super().__init__()
            self.c = nn.Parameter(c0, dtype="float64")  # the decoder's bias
            self.encoder = linear()

        def forward(self, x):
            h = F.sigmoid(F.linear(x, self.encoder.weight, self.encoder.bias))
            return F.sigmoid(F.linear(h, self.encoder.weight.T, self.c))

    return TiedAutoencoder()


class MyLinear(MiniModule):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(W0, dtype="float64")
        self.bias = nn.Parameter(b0, dtype="float64")


mine = make_model(MiniModule, MyLinear)
theirs = make_model(nn.Module, lambda: nn.Linear(6, 3, dtype="float64"))
theirs.load_state_dict({name: p.numpy() for name, p in mine.named_parameters()})  # same start

names_mine = [name for name, _ in mine.named_parameters()]
names_theirs = [name for name, _ in theirs.named_parameters()]
print("MiniModule parameters:", names_mine)
print("nn.Module parameters: ", names_theirs)
assert names_mine == names_theirs == ["c", "encoder.weight", "encoder.bias"]

# %% [markdown]
# ## Same outputs, same gradients
# The tied weight receives two contributions (encoder and decoder), added by the driver (step 4).

# %%
x = tinyae.tensor(rng.random((5, 6)), dtype="float64")
for model in (mine, theirs):
    F.mse_loss(model(x), x).backward()
assert np.allclose(mine(x).numpy(), theirs(x).numpy(), rtol=1e-14)
for (name, p), (_, q) in zip(mine.named_parameters(), theirs.named_parameters(), strict=True):
    assert np.allclose(p.grad, q.grad, rtol=1e-12), name
print("outputs and the gradients of c, encoder.weight and encoder.bias agree")


def loss_of(c, weight, bias):  # the same loss as a function of the parameters, for gradcheck
    h = F.sigmoid(F.linear(x, weight, bias))
    return F.mse_loss(F.sigmoid(F.linear(h, weight.T, c)), x)


assert tinyae.gradcheck(loss_of, [p for _, p in mine.named_parameters()])

# %% [markdown]
# ## What the real `nn.Module` adds
# `parameters()` for optimizers, `state_dict()` for checkpoints (names as in `named_parameters`),
# `train()`/`eval()` modes, `to(backend)`, and errors for mistakes: a typo is an `AttributeError`.

# %%
print(theirs)
print("state_dict keys:", list(theirs.state_dict()))
mine.alias, theirs.alias = mine.encoder.weight, theirs.encoder.weight  # one weight, a second name
assert [n for n, _ in mine.named_parameters()] == [n for n, _ in theirs.named_parameters()]
assert len(list(theirs.parameters())) == 3  # still listed once: an optimizer updates it once
try:
    theirs.encodr  # noqa: B018 - a typo on purpose
except AttributeError as error:
    print("a typo:", error)
else:
    raise AssertionError("a misspelt attribute should raise AttributeError")

print("step 5: every check passed")
