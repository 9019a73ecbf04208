"""The fit loop: learning, History, validation, progress bar, NaN stop, callbacks, data forms, evaluate."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import numpy as np
import pytest

import tinyae
from tests.test_train_standins import NaNAt, Recorder, TinyAE, random_data
from tinyae import optim
from tinyae.data import DataLoader
from tinyae.train import Checkpoint, EarlyStopping, History, StopTraining, evaluate, fit
from tinyae.train.callbacks import run_callbacks


def adam(model: Any, lr: float = 0.02) -> optim.Adam:
    return optim.Adam(model.parameters(), lr=lr)


def weights(model: Any) -> dict[str, np.ndarray]:
    return {name: value.numpy().copy() for name, value in model.state_dict().items()}


# --- learning and the History -------------------------------------------------------------------------------


def test_loss_falls_and_history_records_every_epoch(backend: tinyae.Backend) -> None:
    tinyae.manual_seed(0)
    model = TinyAE()
    x, x_val = random_data(64), random_data(20, seed=1)
    history = fit(model, adam(model), x, epochs=8, batch_size=16, val_data=x_val, progress=False)
    assert len(history) == 8 and history.loss[-1] < 0.7 * history.loss[0]
    assert sorted(history.parts) == ["l2", "mse"] and len(history.parts["mse"]) == 8
    for record in history:  # the parts add up to the total, epoch means included
        assert record["loss"] == pytest.approx(sum(record["parts"].values()), rel=1e-5)
    assert len(history.val_loss) == 8 and sorted(history.val_parts) == ["l2", "mse"]
    assert all(s > 0 for s in history.seconds)
    assert [r["step"] for r in history] == [4 * e for e in range(1, 9)]
    assert model.training and model.encoder.weight.backend is backend


def test_history_is_json_and_round_trips() -> None:
    model = TinyAE()
    history = fit(model, adam(model), random_data(), epochs=2, batch_size=16, progress=False)
    data = json.loads(json.dumps(history.as_dict()))
    again = History.from_dict(data)
    assert again.loss == history.loss and again.parts == history.parts and again.val_loss == []
    assert repr(again).startswith("History(2 epochs, loss")


def test_same_seed_same_run_and_another_seed_another_order() -> None:
    def run(seed: int) -> list[float]:
        tinyae.manual_seed(0)
        model = TinyAE()
        return fit(model, adam(model), random_data(), epochs=3, batch_size=8, seed=seed, progress=False).loss

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_zero_epochs_gives_an_empty_history_and_negative_ones_fail() -> None:
    model = TinyAE()
    assert len(fit(model, adam(model), random_data(), epochs=0, progress=False)) == 0
    with pytest.raises(ValueError, match="epochs must be >= 0"):
        fit(model, adam(model), random_data(), epochs=-1)


# --- data forms ---------------------------------------------------------------------------------------------


def test_labels_reach_the_loss_and_float64_inputs_are_cast_to_the_model_dtype() -> None:
    model = Recorder()
    x = random_data(10).astype(np.float64)
    y = np.arange(10, dtype=np.int64)
    fit(model, adam(model), (x, y), epochs=1, batch_size=4, shuffle=False, progress=False)
    assert model.seen == [
        (2, ["float32", "int64"], 4),
        (2, ["float32", "int64"], 4),
        (2, ["float32", "int64"], 2),
    ]


def test_a_data_loader_is_used_as_it_is(backend: tinyae.Backend) -> None:
    model = Recorder()
    loader = DataLoader(random_data(12), batch_size=5, backend=backend)
    fit(model, adam(model), loader, epochs=1, batch_size=999, progress=False)
    assert [rows for _, _, rows in model.seen] == [5, 5, 2]


def test_a_loader_on_another_backend_is_refused_naming_both() -> None:
    model = TinyAE()  # numpy
    loader = DataLoader(random_data(), batch_size=8, backend="strict")
    with pytest.raises(ValueError, match="backend 'strict' but the model's parameters are on 'numpy'"):
        fit(model, adam(model), loader, epochs=1)


# --- progress bar -------------------------------------------------------------------------------------------


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_is_silent_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    model = TinyAE()
    fit(model, adam(model), random_data(), epochs=2, batch_size=16, progress=True)
    assert capsys.readouterr().err == ""


def test_progress_bar_shows_on_a_terminal_unless_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    model = TinyAE()
    fit(model, adam(model), random_data(), epochs=2, batch_size=16, progress=True)
    shown = terminal.getvalue()
    assert "epoch 2/2" in shown and "6/6" in shown and "loss=" in shown
    quiet = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    fit(model, adam(model), random_data(), epochs=2, batch_size=16, progress=False)
    assert quiet.getvalue() == ""


# --- the NaN stop -------------------------------------------------------------------------------------------


def test_a_nan_loss_stops_at_its_step_before_the_update(backend: tinyae.Backend) -> None:
    model = NaNAt(at=7)  # 48 samples in batches of 16: step 7 is epoch 3, batch 1
    before: dict[str, np.ndarray] = {}

    def remember(epoch: int, history: History, model: Any) -> None:
        before.update(weights(model))

    with pytest.raises(FloatingPointError) as caught:
        fit(
            model, adam(model), random_data(48), epochs=5, batch_size=16, callbacks=[remember], progress=False
        )
    message = str(caught.value)
    assert "loss is nan at step 7 (epoch 3, batch 1)" in message
    assert "mse=nan" in message and "l2=" in message and "before this step's update" in message
    for name, value in weights(model).items():  # the parameters are those that produced the NaN
        np.testing.assert_array_equal(value, before[name])


def test_an_infinite_loss_found_at_the_epoch_end_names_its_step() -> None:
    model = NaNAt(at=5, value=float("inf"))
    with pytest.raises(
        FloatingPointError, match=r"loss is inf at step 5 \(epoch 2, batch 2\).*end of the epoch"
    ):
        fit(
            model,
            adam(model),
            random_data(48),
            epochs=3,
            batch_size=16,
            progress=False,
            check_each_step=False,
        )
    assert model.calls == 6  # the rest of epoch 2 ran before the once-per-epoch check


# --- callbacks ----------------------------------------------------------------------------------------------


def test_a_callback_returning_true_stops_and_every_callback_still_runs() -> None:
    seen: list[int] = []

    def stop_at_two(epoch: int, history: History, model: Any) -> bool:
        return epoch == 2

    def log(epoch: int, history: History, model: Any) -> None:
        seen.append(epoch)

    model = TinyAE()
    history = fit(model, adam(model), random_data(), epochs=5, callbacks=[stop_at_two, log], progress=False)
    assert len(history) == 2 and seen == [1, 2]
    assert history.stop_reason == "stop_at_two returned True after epoch 2"


def test_stop_training_gives_its_message_as_the_reason() -> None:
    def enough(epoch: int, history: History, model: Any) -> None:
        raise StopTraining("enough for today")

    assert run_callbacks([enough], 1, History(), None) == "enough for today"
    model = TinyAE()
    history = fit(model, adam(model), random_data(), epochs=4, callbacks=[enough], progress=False)
    assert len(history) == 1 and history.stop_reason == "enough for today"


def test_early_stopping_stops_when_the_loss_stalls() -> None:
    model = TinyAE()
    frozen = optim.SGD(model.parameters(), lr=0.0)  # the loss cannot improve
    stop = EarlyStopping(patience=2, min_delta=1e-6, monitor="loss")
    history = fit(model, frozen, random_data(), epochs=10, callbacks=[stop], progress=False)
    assert len(history) == 3
    assert history.stop_reason is not None and "loss has not improved for 2 epochs" in history.stop_reason


def test_early_stopping_restores_the_best_weights_and_resets_for_a_new_run() -> None:
    model = TinyAE()
    stop = EarlyStopping(patience=1, restore_best=True)
    history = History()
    history.append({"epoch": 1, "loss": 1.0, "val_loss": 0.5})
    stop(1, history, model)
    best = weights(model)
    model.encoder.weight.data = model.encoder.weight.data + 1.0
    history.append({"epoch": 2, "loss": 0.9, "val_loss": 0.7})  # "auto" watches val_loss: worse
    with pytest.raises(StopTraining, match="val_loss has not improved"):
        stop(2, history, model)
    np.testing.assert_array_equal(model.encoder.weight.numpy(), best["encoder.weight"])
    fresh = History()
    fresh.append({"epoch": 1, "loss": 5.0, "val_loss": None})
    stop(1, fresh, model)  # a new History: a new run, no memory of the old best
    assert stop.best == 5.0 and stop.waited == 0


def test_checkpoint_callback_saves_model_and_optimizer(tmp_path: Any) -> None:
    model = TinyAE()
    opt = adam(model)
    saver = Checkpoint(tmp_path / "ae-{epoch}.safetensors", optimizer=opt, every=2)
    fit(model, opt, random_data(), epochs=4, callbacks=[saver], progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ae-2.safetensors", "ae-4.safetensors"]
    restored = tinyae.io.load(saver.saved[-1])
    x = tinyae.tensor(random_data(5))
    np.testing.assert_array_equal(restored(x).numpy(), model(x).numpy())
    resumed = TinyAE()
    moments = adam(resumed)
    tinyae.io.load(saver.saved[-1], into=resumed, optimizer=moments)  # one file: weights and moments
    assert moments.state_dict()["state"]["0.step"] == opt.state_dict()["state"]["0.step"]


# --- evaluate -----------------------------------------------------------------------------------------------


def test_evaluate_gives_sample_means_and_restores_each_module_mode(backend: tinyae.Backend) -> None:
    model = TinyAE(batch_norm=True)
    fit(model, adam(model), random_data(), epochs=1, progress=False)  # running statistics move
    model.train()
    model.decoder.eval()  # a mixed state, which must come back as it was
    stats = model.norm.running_mean.numpy().copy()
    x = random_data(23, seed=5)
    result = evaluate(model, x, batch_size=5)
    assert model.training and model.encoder.training and model.norm.training and not model.decoder.training
    np.testing.assert_array_equal(model.norm.running_mean.numpy(), stats)
    model.eval()
    with tinyae.no_grad():
        total, parts = model.loss(tinyae.tensor(x))
    assert sorted(result) == ["l2", "loss", "mse"]
    assert result["loss"] == pytest.approx(total.item(), rel=1e-5)
    assert result["mse"] == pytest.approx(parts["mse"].item(), rel=1e-5)


def test_validation_inside_fit_uses_evaluation_mode() -> None:
    model = TinyAE(batch_norm=True)
    x_val = random_data(16, seed=3)
    history = fit(model, adam(model), random_data(), epochs=1, val_data=x_val, progress=False)
    assert history.val_loss[0] == pytest.approx(evaluate(model, x_val)["loss"], rel=1e-6)
