"""Learning-rate schedulers: PyTorch's closed-form formulas worked here, and the same rates as
torch.optim.lr_scheduler (when torch is installed), checkpoints, composition, and refused settings."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

import tinyae
from tinyae import optim
from tinyae.optim import lr_scheduler

Schedule = Callable[[Any], Any]


def sgd(lr: float = 0.1) -> optim.SGD:
    return optim.SGD([tinyae.tensor([1.0], requires_grad=True)], lr=lr)


def rates(scheduler: Any, epochs: int, metrics: list[float] | None = None) -> list[float]:
    """The rate in force during epochs 0, 1, ..., epochs (read from the optimizer and get_last_lr)."""
    seen = [scheduler.optimizer.lr]
    for epoch in range(epochs):
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        assert scheduler.get_last_lr() == [scheduler.optimizer.lr]
        seen.append(scheduler.optimizer.lr)
    return seen


def test_module_and_names() -> None:
    assert optim.lr_scheduler is lr_scheduler
    for name in ("StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau", "LRScheduler"):
        assert getattr(optim, name) is getattr(lr_scheduler, name)


def test_step_lr_formula() -> None:
    got = rates(optim.StepLR(sgd(0.1), step_size=3, gamma=0.5), 10)
    expected = [0.1 * 0.5 ** (epoch // 3) for epoch in range(11)]  # base_lr * gamma ** (epoch // step_size)
    assert got == pytest.approx(expected, rel=1e-12)
    assert got[:7] == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025], rel=1e-15)


def test_exponential_lr_formula() -> None:
    got = rates(optim.ExponentialLR(sgd(0.2), gamma=0.9), 8)
    assert got == pytest.approx([0.2 * 0.9**epoch for epoch in range(9)], rel=1e-12)


@pytest.mark.parametrize(("t_max", "eta_min"), [(4, 0.0), (5, 0.01), (1, 0.001)])
def test_cosine_annealing_formula(t_max: int, eta_min: float) -> None:
    base = 0.1
    got = rates(optim.CosineAnnealingLR(sgd(base), T_max=t_max, eta_min=eta_min), 3 * t_max + 2)
    # eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2, continuing past T_max as a cosine
    expected = [
        eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2 for e in range(3 * t_max + 3)
    ]
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert got[t_max] == pytest.approx(eta_min, abs=1e-15) and got[2 * t_max] == pytest.approx(
        base, rel=1e-12
    )


def test_cosine_by_hand() -> None:
    got = rates(optim.CosineAnnealingLR(sgd(1.0), T_max=2), 4)
    assert got == pytest.approx([1.0, 0.5, 0.0, 0.5, 1.0], abs=1e-15)  # (1 + cos(pi e / 2)) / 2


def test_reduce_on_plateau_by_hand() -> None:
    opt = sgd(1.0)
    scheduler = optim.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=0.2)
    losses = [1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    got = rates(scheduler, len(losses), losses)
    # best 0.9 at epoch 2; bad epochs 3, 4, 5 -> more than patience 2: halve at the 5th step (1.0 -> 0.5);
    # cooldown 1 step; then 3 bad steps again: 0.25; then max(0.125, min_lr 0.2) = 0.2, and no lower
    assert got == [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2]


def test_reduce_on_plateau_threshold_and_max_mode() -> None:
    opt = sgd(1.0)
    scheduler = optim.ReduceLROnPlateau(opt, mode="max", patience=0, threshold=0.1)
    # in "max"/"rel" mode a metric improves when > best * 1.1: 1.0, then 1.05 is not better -> reduce
    assert rates(scheduler, 3, [1.0, 1.05, 1.2]) == pytest.approx([1.0, 1.0, 0.1, 0.1])
    assert scheduler.best == 1.2
    scheduler = optim.ReduceLROnPlateau(sgd(1.0), threshold_mode="abs", threshold=0.5, patience=0)
    assert rates(scheduler, 3, [2.0, 1.6, 1.4]) == pytest.approx([1.0, 1.0, 0.1, 0.1])  # 1.4 < 2.0 - 0.5


def test_reduce_on_plateau_takes_a_tensor_metric() -> None:
    scheduler = optim.ReduceLROnPlateau(sgd(1.0), patience=0)
    scheduler.step(tinyae.tensor([3.0]).sum())
    assert scheduler.best == 3.0
    with pytest.raises(
        ValueError, match=r"ReduceLROnPlateau\.step: the metric must be a finite number, got nan"
    ):
        scheduler.step(math.nan)


def test_the_optimizer_steps_with_the_scheduled_rate() -> None:
    p = tinyae.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    scheduler = optim.StepLR(opt, step_size=1, gamma=0.5)
    for _ in range(3):
        p.grad = p.backend.asarray([1.0], dtype="float64")
        opt.step()
        scheduler.step()
    assert p.item() == pytest.approx(1.0 - 0.1 - 0.05 - 0.025, rel=1e-15)


def test_two_schedulers_compose() -> None:
    opt = sgd(1.0)
    step, exp = optim.StepLR(opt, step_size=2, gamma=0.1), optim.ExponentialLR(opt, gamma=0.5)
    for _ in range(4):
        step.step()
        exp.step()
    assert opt.lr == pytest.approx(0.1**2 * 0.5**4, rel=1e-12)


MAKERS: dict[str, Schedule] = {
    "step": lambda o: optim.StepLR(o, step_size=3, gamma=0.3),
    "exponential": lambda o: optim.ExponentialLR(o, gamma=0.8),
    "cosine": lambda o: optim.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
    "plateau": lambda o: optim.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1),
}
METRICS = [1.0, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]


@pytest.mark.parametrize("kind", list(MAKERS))
def test_state_dict_round_trip_continues_the_schedule(kind: str) -> None:
    metrics = METRICS if kind == "plateau" else None
    opt = sgd(0.1)
    scheduler = MAKERS[kind](opt)
    rates(scheduler, 7, metrics)
    saved_opt, saved = opt.state_dict(), scheduler.state_dict()
    rest = METRICS[7:] if metrics else None
    expected = rates(scheduler, 8, rest)

    opt2 = sgd(0.5)
    resumed = MAKERS[kind](opt2)
    opt2.load_state_dict(saved_opt)  # the optimizer restores the rate, the scheduler its progress
    resumed.load_state_dict(saved)
    assert resumed.last_epoch == 7 and resumed.get_last_lr() == [opt2.lr]
    assert rates(resumed, 8, rest) == expected


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda o: optim.StepLR(o, step_size=0), r"StepLR: step_size must be an integer >= 1, got 0"),
        (lambda o: optim.StepLR(o, step_size=2.5), r"StepLR: step_size must be an integer >= 1, got 2.5"),
        (lambda o: optim.StepLR(o, 2, gamma=math.inf), "StepLR: gamma must be >= 0.0 and finite, got inf"),
        (lambda o: optim.ExponentialLR(o, gamma=-0.5), "ExponentialLR: gamma must be >= 0.0 and finite"),
        (lambda o: optim.CosineAnnealingLR(o, T_max=0), "CosineAnnealingLR: T_max must be an integer >= 1"),
        (lambda o: optim.CosineAnnealingLR(o, 3, eta_min=math.nan), "CosineAnnealingLR: eta_min must be"),
        (lambda o: optim.ReduceLROnPlateau(o, mode="low"), "ReduceLROnPlateau: mode must be 'min' or 'max'"),
        (
            lambda o: optim.ReduceLROnPlateau(o, factor=1.0),
            r"ReduceLROnPlateau: factor must be in \[0.0, 1.0\)",
        ),
        (lambda o: optim.ReduceLROnPlateau(o, patience=-1), "ReduceLROnPlateau: patience must be an integer"),
        (lambda o: optim.ReduceLROnPlateau(o, threshold_mode="x"), "threshold_mode must be 'rel' or 'abs'"),
        (lambda o: optim.ReduceLROnPlateau(o, min_lr=math.inf), "ReduceLROnPlateau: min_lr must be"),
    ],
    ids=[
        "step0",
        "step-float",
        "gamma-inf",
        "gamma-neg",
        "tmax0",
        "eta-nan",
        "mode",
        "factor",
        "patience",
        "threshold-mode",
        "min-lr",
    ],
)
def test_settings_are_checked(build: Schedule, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build(sgd())


def test_a_scheduler_needs_a_tinyae_optimizer() -> None:
    with pytest.raises(TypeError, match="StepLR needs a tinyae optimizer, not a list"):
        optim.StepLR([], step_size=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "key", "value", "message"),
    [
        ("step", "last_epoch", -1, "StepLR.load_state_dict: last_epoch must be an integer >= 0, got -1"),
        ("step", "last_epoch", 1.5, "last_epoch must be an integer >= 0, got 1.5"),
        ("step", "gamma", math.inf, "StepLR: gamma must be >= 0.0 and finite, got inf"),
        ("step", "type", "ExponentialLR", "cannot load the state of a ExponentialLR scheduler into StepLR"),
        ("step", "extra", 1, r"unexpected \['extra'\]"),
        ("exponential", "base_lrs", [math.nan], "base_lrs must be >= 0.0 and finite, got nan"),
        ("exponential", "_last_lr", [0.1, 0.2], "_last_lr must be a list of one rate"),
        ("plateau", "best", math.nan, "best must be a number, got nan"),
        ("plateau", "num_bad_epochs", -2, "num_bad_epochs must be an integer >= 0"),
        ("plateau", "mode", "low", "mode must be 'min' or 'max'"),
    ],
    ids=[
        "epoch-neg",
        "epoch-float",
        "gamma",
        "type",
        "extra",
        "base-nan",
        "last-lr",
        "best-nan",
        "bad-neg",
        "mode",
    ],
)
def test_load_state_dict_refuses_bad_values_and_changes_nothing(
    kind: str, key: str, value: Any, message: str
) -> None:
    scheduler = MAKERS[kind](sgd())
    rates(scheduler, 3, METRICS if kind == "plateau" else None)
    before = scheduler.state_dict()
    with pytest.raises(ValueError, match=message):
        scheduler.load_state_dict({**before, key: value})
    assert scheduler.state_dict() == before


def test_plateau_state_keeps_an_infinite_best() -> None:
    scheduler = optim.ReduceLROnPlateau(sgd())
    saved = scheduler.state_dict()
    assert saved["best"] == math.inf
    fresh = optim.ReduceLROnPlateau(sgd())
    fresh.load_state_dict(saved)
    assert fresh.best == math.inf


# --- against PyTorch ---------------------------------------------------------------------------------------

TORCH_CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("StepLR", {"step_size": 3, "gamma": 0.3}, False),
    ("StepLR", {"step_size": 1}, False),
    ("ExponentialLR", {"gamma": 0.8}, False),
    ("CosineAnnealingLR", {"T_max": 5, "eta_min": 0.001}, False),
    ("CosineAnnealingLR", {"T_max": 3}, False),
    ("ReduceLROnPlateau", {"factor": 0.5, "patience": 1, "cooldown": 1, "min_lr": 0.01}, True),
    ("ReduceLROnPlateau", {"mode": "max", "patience": 0, "threshold": 0.05, "threshold_mode": "abs"}, True),
]


@pytest.mark.parametrize(("name", "settings", "plateau"), TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_same_rates_as_torch(name: str, settings: dict[str, Any], plateau: bool) -> None:
    torch = pytest.importorskip("torch")
    weight = torch.zeros(1, requires_grad=True)
    torch_opt = torch.optim.SGD([weight], lr=0.1)
    theirs = getattr(torch.optim.lr_scheduler, name)(torch_opt, **settings)
    mine = getattr(optim, name)(sgd(0.1), **settings)
    metrics = [1.0, 0.9, 0.95, 0.95, 0.94, 0.8, 0.85, 0.85, 0.86, 0.87, 0.7, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9]
    for epoch in range(16):
        torch_opt.step()  # (no gradient: nothing moves) torch warns if the scheduler steps first
        if plateau:
            theirs.step(metrics[epoch])
            mine.step(metrics[epoch])
        else:
            theirs.step()
            mine.step()
        assert mine.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-12, abs=1e-15), epoch
        assert mine.optimizer.lr == pytest.approx(torch_opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15)
