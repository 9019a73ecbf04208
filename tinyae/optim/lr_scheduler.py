"""Learning-rate schedulers with PyTorch's names, formulas and protocol.

A scheduler changes ``optimizer.lr`` once per epoch: build it after the optimizer, call ``step()`` after
each epoch's updates (``ReduceLROnPlateau``: ``step(metric)`` with, say, the validation loss), read the
rate with ``get_last_lr()`` (a list of one float, as PyTorch has one rate per parameter group), and save or
restore it with ``state_dict()`` / ``load_state_dict()``.  Like PyTorch's, each rule is written as a change
of the *current* rate, so two schedulers on one optimizer compose (their factors multiply); with one
scheduler alone the rate follows the closed form given in each docstring.

>>> import tinyae
>>> from tinyae import optim
>>> opt = optim.SGD([tinyae.tensor([1.0], requires_grad=True)], lr=0.1)
>>> scheduler = optim.StepLR(opt, step_size=2, gamma=0.5)
>>> for epoch in range(5):
...     # ... one epoch of opt.step() calls ...
...     scheduler.step()
...     print(epoch, scheduler.get_last_lr())
0 [0.1]
1 [0.05]
2 [0.05]
3 [0.025]
4 [0.025]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

from tinyae.optim.checks import check_count, check_range
from tinyae.optim.optimizer import Optimizer

__all__ = ["CosineAnnealingLR", "ExponentialLR", "LRScheduler", "ReduceLROnPlateau", "StepLR"]


class LRScheduler:
    """Base class: a subclass names its settings in ``setting_names`` and writes :meth:`next_lr`.

    Attributes
    ----------
    optimizer : Optimizer
        The optimizer whose ``lr`` this scheduler sets.
    base_lrs : list of float
        The rate when the scheduler was built (PyTorch's ``base_lrs``, one group).
    last_epoch : int
        How many times :meth:`step` has been called.
    """

    setting_names: ClassVar[tuple[str, ...]] = ()
    # what state_dict() holds besides the settings, each checked on load as a count (int >= 0) or a rate
    counter_names: ClassVar[tuple[str, ...]] = ("last_epoch",)

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{type(self).__name__} needs a tinyae optimizer, not a {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lrs = [float(optimizer.lr)]
        self.last_epoch = 0
        self._last_lr = [float(optimizer.lr)]

    def next_lr(self, lr: float) -> float:
        """The rate for epoch ``last_epoch`` (already counted), given the current rate ``lr``."""
        raise NotImplementedError

    def step(self) -> None:
        """Count one epoch and set ``optimizer.lr`` for the next one."""
        self.last_epoch += 1
        self.optimizer.lr = self.next_lr(self.optimizer.lr)
        self._last_lr = [self.optimizer.lr]

    def get_last_lr(self) -> list[float]:
        """The rate this scheduler set last (the optimizer's rate when it was built, before any step)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The settings and the progress: everything but the optimizer, as plain Python values."""
        state = {name: getattr(self, name) for name in (*self.setting_names, *self.counter_names)}
        return {
            "type": type(self).__name__,
            **state,
            "base_lrs": list(self.base_lrs),
            "_last_lr": self.get_last_lr(),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved, after checking every value (a ValueError names the field).

        Like PyTorch's, this does not change ``optimizer.lr``: the optimizer's own ``load_state_dict``
        restores the rate it was saved with.
        """
        name = type(self).__name__
        saved_type = state_dict.get("type", name)
        if saved_type != name:
            raise ValueError(f"cannot load the state of a {saved_type} scheduler into {name}")
        expected = {"type", *self.setting_names, *self.counter_names, "base_lrs", "_last_lr"}
        missing, unexpected = sorted(expected - set(state_dict)), sorted(set(state_dict) - expected)
        if missing or unexpected:
            raise ValueError(f"{name}.load_state_dict: missing entries {missing}, unexpected {unexpected}")
        fresh = type(self)(self.optimizer, **{key: state_dict[key] for key in self.setting_names})
        values = {key: getattr(fresh, key) for key in self.setting_names}
        for key in self.counter_names:
            values[key] = self._checked_counter(key, state_dict[key])
        for key in ("base_lrs", "_last_lr"):
            rates = state_dict[key]
            if not isinstance(rates, (list, tuple)) or len(rates) != 1:
                raise ValueError(f"{name}.load_state_dict: {key} must be a list of one rate, got {rates!r}")
            values[key] = [check_range(f"{name}.load_state_dict", key, rates[0], 0.0)]
        self.__dict__.update(values)

    def _checked_counter(self, key: str, value: Any) -> Any:
        return check_count(f"{type(self).__name__}.load_state_dict", key, value, 0)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.setting_names)
        return f"{type(self).__name__}({settings}; last_epoch={self.last_epoch}, lr={self._last_lr[0]!r})"


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: ``lr = base_lr * gamma ** (epoch //
    step_size)``.

    >>> import tinyae
    >>> from tinyae import optim
    >>> opt = optim.SGD([tinyae.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> scheduler = optim.StepLR(opt, step_size=3, gamma=0.1)
    >>> for _ in range(3):
    ...     scheduler.step()
    >>> opt.lr
    0.1
    """

    setting_names = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = check_count("StepLR", "step_size", step_size, 1)
        self.gamma = check_range("StepLR", "gamma", gamma, 0.0)

    def next_lr(self, lr: float) -> float:
        return lr * self.gamma if self.last_epoch % self.step_size == 0 else lr


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: ``lr = base_lr * gamma ** epoch``.

    >>> import tinyae
    >>> from tinyae import optim
    >>> opt = optim.SGD([tinyae.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> scheduler = optim.ExponentialLR(opt, gamma=0.5)
    >>> scheduler.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.25]
    """

    setting_names = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = check_range("ExponentialLR", "gamma", gamma, 0.0)

    def next_lr(self, lr: float) -> float:
        return lr * self.gamma


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from ``base_lr`` down to ``eta_min`` over ``T_max`` epochs (SGDR without restarts)::

        lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    Past ``T_max`` the cosine goes on, back up towards ``base_lr`` (as in PyTorch).  Computed, as PyTorch
    does, as the ratio of two successive values of that curve applied to the current rate, so that it
    composes with other schedulers.

    >>> import tinyae
    >>> from tinyae import optim
    >>> opt = optim.SGD([tinyae.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> scheduler = optim.CosineAnnealingLR(opt, T_max=4)
    >>> for _ in range(4):
    ...     scheduler.step()
    ...     print(round(opt.lr, 4))
    0.8536
    0.5
    0.1464
    0.0
    """

    setting_names = ("T_max", "eta_min")

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = check_count("CosineAnnealingLR", "T_max", T_max, 1)
        self.eta_min = check_range("CosineAnnealingLR", "eta_min", eta_min, 0.0)

    def next_lr(self, lr: float) -> float:
        epoch, period = self.last_epoch, self.T_max
        if (epoch - 1 - period) % (2 * period) == 0:
            # the step up from the curve's minimum, where the ratio below would divide by 1 + cos(pi) = 0
            return lr + (self.base_lrs[0] - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
        ratio = (1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period))
        return ratio * (lr - self.eta_min) + self.eta_min


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has stopped improving for ``patience`` epochs.

    ``step(metric)`` after each epoch.  With ``mode="min"`` (a loss) a value improves on the best so far
    when ``metric < best * (1 - threshold)`` (``threshold_mode="rel"``) or ``metric < best - threshold``
    (``"abs"``); ``mode="max"`` (an accuracy) mirrors both.  After more than ``patience`` epochs without
    improvement: ``lr = max(lr * factor, min_lr)`` (a change smaller than ``eps`` is skipped), then
    ``cooldown`` epochs in which bad epochs are not counted.

    >>> import tinyae
    >>> from tinyae import optim
    >>> opt = optim.SGD([tinyae.tensor([1.0], requires_grad=True)], lr=1.0)
    >>> scheduler = optim.ReduceLROnPlateau(opt, patience=1)
    >>> for loss in [1.0, 0.5, 0.5, 0.5, 0.4]:
    ...     scheduler.step(loss)
    ...     print(scheduler.get_last_lr())
    [1.0]
    [1.0]
    [1.0]
    [0.1]
    [0.1]
    """

    setting_names = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps")
    counter_names = ("last_epoch", "best", "num_bad_epochs", "cooldown_counter")

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ) -> None:
        super().__init__(optimizer)
        owner = "ReduceLROnPlateau"
        if mode not in ("min", "max"):
            raise ValueError(f"{owner}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{owner}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_range(owner, "factor", factor, 0.0, 1.0)
        self.patience = check_count(owner, "patience", patience, 0)
        self.threshold = check_range(owner, "threshold", threshold, 0.0)
        self.cooldown = check_count(owner, "cooldown", cooldown, 0)
        self.min_lr = check_range(owner, "min_lr", min_lr, 0.0)
        self.eps = check_range(owner, "eps", eps, 0.0)
        self.best = math.inf if mode == "min" else -math.inf  # the worst value: any metric improves on it
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def is_better(self, metric: float) -> bool:
        """Whether ``metric`` improves on ``self.best`` by more than the threshold."""
        if self.mode == "min":
            return metric < (
                self.best * (1 - self.threshold)
                if self.threshold_mode == "rel"
                else self.best - self.threshold
            )
        return metric > (
            self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        )

    def step(self, metric: Any) -> None:  # type: ignore[override]
        """Count one epoch whose result is ``metric`` (a number or a one-element tensor)."""
        value = metric.item() if hasattr(metric, "item") else metric
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"ReduceLROnPlateau.step: the metric must be a finite number, got {value!r}")
        value = float(value)
        self.last_epoch += 1
        if self.is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in the cooldown do not count
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.optimizer.lr * self.factor, self.min_lr)
            if self.optimizer.lr - new_lr > self.eps:
                self.optimizer.lr = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [self.optimizer.lr]

    def _checked_counter(self, key: str, value: Any) -> Any:
        if key == "best":  # a metric, or the starting +-inf of its mode
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: best must be a number, got {value!r}"
                )
            return float(value)
        return super()._checked_counter(key, value)
