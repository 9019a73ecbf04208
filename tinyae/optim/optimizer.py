"""``Optimizer``: the base class that holds the parameters, their per-position state, and checkpoints it.

State is a list with one dict per parameter *position* (the order the parameters were given in), never a
mapping keyed by ``id()``: ids are reused after garbage collection and mean nothing in another process, while
positions survive a checkpoint.  Updates are written in place into ``p.data`` with Array-API functions of
the parameter's own backend, and every constant is a Python float, so a float32 parameter stays float32.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from tinyae.backend import Backend, BackendError, dtype_name
from tinyae.optim.checks import check_range, check_step
from tinyae.tensor import Tensor, tensor

__all__ = ["Optimizer", "check_range", "weight_decayed"]


class Optimizer:
    """Base class: subclasses set their hyperparameters as attributes and write ``_update``.

    Hyperparameters are plain attributes (``opt.lr = 1e-4`` changes the learning rate of later steps)
    named in ``hyperparameter_names``, which are also the constructor's keyword names.
    """

    hyperparameter_names: ClassVar[tuple[str, ...]] = ()
    lr: float  # every optimizer has a learning rate; schedulers (lr_scheduler.py) change it between epochs
    # state entries that estimate a mean square: a negative value would make sqrt() NaN, so loading refuses it
    nonnegative_state: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[Tensor]) -> None:
        self.params: list[Tensor] = _checked_parameters(params, type(self).__name__)
        # state[i] belongs to params[i]; filled at that parameter's first step (or by load_state_dict)
        self.state: list[dict[str, Any]] = [{} for _ in self.params]
        self._backends: list[Backend | None] = [None] * len(self.params)

    # --- what subclasses provide ------------------------------------------------------------------------
    def state_names(self) -> tuple[str, ...]:
        """The names a parameter's state holds after its first step, for the current hyperparameters."""
        return ()

    def _update(self, p: Tensor, grad: Any, state: dict[str, Any]) -> None:
        """Update ``p.data`` in place from ``grad`` (a backend array; never write into it: it may be
        shared with another parameter's ``.grad``) and this parameter's ``state``."""
        raise NotImplementedError

    @staticmethod
    def scratch(p: Tensor, state: dict[str, Any]) -> Any:
        """A work array shaped like ``p``, kept in ``state["_scratch"]`` from step to step (never saved).

        Updates write their intermediate results into it (:meth:`Backend.into`) instead of making fresh
        arrays: large fresh temporaries at every step are handed back to the system and faulted in again.
        """
        buffer = state.get("_scratch")
        if buffer is None or buffer.dtype != p.dtype or tuple(buffer.shape) != p.shape:
            buffer = state["_scratch"] = p.backend.xp.empty_like(p.data)
        return buffer

    # --- training ---------------------------------------------------------------------------------------
    def step(self) -> None:
        """Update every parameter that has a gradient; parameters whose ``.grad`` is None are skipped."""
        for index, p in enumerate(self.params):
            grad = p.grad
            if grad is None:
                continue
            if grad.dtype != p.dtype or tuple(grad.shape) != p.shape:
                # autograd never makes such a gradient; one set by hand would be cast silently by NumPy
                raise ValueError(
                    f"{type(self).__name__}: parameter {index} is {p.shape} {dtype_name(p.dtype)} but its "
                    f".grad is {tuple(grad.shape)} {dtype_name(grad.dtype)}"
                )
            known = self._backends[index]
            if known is not p.backend:
                entries = self.state[index]
                entries.pop("_scratch", None)  # working memory on the old backend: made again when needed
                if known is not None and entries:
                    raise BackendError(
                        f"{type(self).__name__}: parameter {index} moved from backend {known.name!r} to "
                        f"{p.backend.name!r} after its state was made; build the optimizer after moving"
                    )
                self._backends[index] = p.backend
            self._update(p, grad, self.state[index])

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``None``, or zeros with ``set_to_none=False``)."""
        for p in self.params:
            # zeros as a new array: .grad may be the same array object as another parameter's .grad
            p.grad = None if set_to_none or p.grad is None else p.backend.xp.zeros_like(p.data)

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The current hyperparameters by name (the constructor's keywords)."""
        return {name: getattr(self, name) for name in self.hyperparameter_names}

    # --- checkpoints ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue training, in host-friendly form.

        Returns
        -------
        dict
            ``{"type": "Adam", "num_parameters": n, "hyperparameters": {"lr": ..., ...},
            "state": {"0.step": 3, "0.exp_avg": array, ...}}``: state keys are ``"<position>.<name>"``,
            values are NumPy copies (whatever the backend) or Python ints, so that the dict can be saved
            as ``.npz`` and loaded onto any backend.
        """
        state: dict[str, Any] = {}
        for index, (p, entries) in enumerate(zip(self.params, self.state, strict=True)):
            for name, value in entries.items():
                if name.startswith("_"):  # working memory (the scratch buffer), not state
                    continue
                if isinstance(value, int):
                    state[f"{index}.{name}"] = value
                else:  # copy first: the host view of a numpy array would change with later steps
                    state[f"{index}.{name}"] = p.backend.to_numpy(p.backend.xp.asarray(value, copy=True))
        return {
            "type": type(self).__name__,
            "num_parameters": len(self.params),
            "hyperparameters": self.hyperparameters,
            "state": state,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hyperparameters and per-position state saved by :meth:`state_dict`.

        Arrays (NumPy or any backend's) are copied onto each parameter's backend in its dtype.  Everything
        is checked before anything changes.

        Raises
        ------
        ValueError
            Naming the problem: another optimizer type, another number of parameters, missing, unexpected or
            out-of-range hyperparameters, missing or unexpected state entries, a step count that is not an
            integer in [0, 2**63 - 1], or a state array that is not float32/float64, has another shape than
            its parameter, holds inf or NaN, or (a mean of squares) holds negative values.
        """
        name = type(self).__name__
        saved_type = state_dict.get("type", name)
        if saved_type != name:
            raise ValueError(f"cannot load the state of a {saved_type} optimizer into {name}")
        count = state_dict.get("num_parameters", len(self.params))
        if count != len(self.params):
            raise ValueError(
                f"{name}.load_state_dict: the state_dict is for {count} parameters, "
                f"this optimizer has {len(self.params)}"
            )
        hyper = dict(state_dict.get("hyperparameters", {}))
        missing = [k for k in self.hyperparameter_names if k not in hyper]
        unexpected = [k for k in hyper if k not in self.hyperparameter_names]
        if missing or unexpected:
            raise ValueError(
                f"{name}.load_state_dict: missing hyperparameter(s) {missing}, unexpected {unexpected}"
            )
        fresh = type(self)(self.params, **hyper)  # the constructor checks and normalises the values
        state = self._loaded_state(state_dict.get("state", {}), fresh.state_names())
        for key in self.hyperparameter_names:
            setattr(self, key, getattr(fresh, key))
        self.state = state
        self._backends = [p.backend if s else None for p, s in zip(self.params, state, strict=True)]

    def _loaded_state(self, saved: Mapping[str, Any], expected: tuple[str, ...]) -> list[dict[str, Any]]:
        name = type(self).__name__
        state: list[dict[str, Any]] = [{} for _ in self.params]
        problems: list[str] = []
        for key, value in saved.items():
            position, _, entry = str(key).partition(".")
            if not position.isdigit() or int(position) >= len(self.params):
                problems.append(
                    f"state key {key!r} names no parameter (positions 0 to {len(self.params) - 1})"
                )
                continue
            index = int(position)
            if entry not in expected:
                problems.append(f"unexpected state entry {key!r} (a {name} keeps {list(expected)})")
            elif entry == "step":
                try:
                    state[index][entry] = check_step(key, value)
                except ValueError as error:
                    problems.append(str(error))
            else:
                try:
                    state[index][entry] = self._checked_state_array(key, value, self.params[index])
                except ValueError as error:
                    problems.append(str(error))
        for index, entries in enumerate(state):
            lacking = [e for e in expected if e not in entries]
            if entries and lacking:
                problems.append(f"state of parameter {index} lacks {lacking}")
        if problems:
            raise ValueError(f"{name}.load_state_dict: " + "; ".join(problems))
        return state

    def _checked_state_array(self, key: str, value: Any, p: Tensor) -> Any:
        """``value`` as the state entry ``key`` of parameter ``p``, or a ValueError saying what is wrong.

        A float32 or float64 array of ``p``'s shape, finite in ``p``'s dtype, and not negative where it is
        a mean of squares; it is cast to ``p``'s dtype, as a module's ``load_state_dict`` casts.
        """
        kind = getattr(value, "dtype", None)
        if kind is None or dtype_name(kind) not in ("float32", "float64"):
            described = dtype_name(kind) if kind is not None else type(value).__name__
            raise ValueError(
                f"state entry {key!r} is {described}; optimizer state is a float32 or float64 array"
            )
        array = tensor(value, backend=p.backend).data  # a copy on p's backend, still in its own dtype
        if tuple(array.shape) != p.shape:
            raise ValueError(
                f"state entry {key!r} has shape {tuple(array.shape)}, its parameter has shape {p.shape}"
            )
        xp = p.backend.xp
        # checked before the cast: float64 values beyond float32's range would turn to inf in the cast
        largest = xp.finfo(p.dtype).max
        if not bool(xp.all(xp.abs(array) <= largest)):  # False for NaN as well
            raise ValueError(
                f"state entry {key!r} holds inf, NaN or values beyond {dtype_name(p.dtype)}'s range"
            )
        if key.partition(".")[2] in self.nonnegative_state and not bool(xp.all(array >= 0)):
            raise ValueError(f"state entry {key!r} holds negative values, but it is a mean of squares")
        return xp.astype(array, p.dtype)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({settings}; {len(self.params)} parameters)"


def _checked_parameters(params: Iterable[Tensor], owner: str) -> list[Tensor]:
    if isinstance(params, Tensor):
        raise TypeError(f"{owner} needs an iterable of tensors (model.parameters()), not a single Tensor")
    checked = list(params)
    if not checked:
        raise ValueError(f"{owner} got an empty parameter list")
    first_position: dict[int, int] = {}  # id -> position, only to detect repeats while checking
    for index, p in enumerate(checked):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: parameter {index} is a {type(p).__name__}, not a Tensor")
        if not p.requires_grad:
            raise ValueError(f"{owner}: parameter {index} (shape {p.shape}) does not require grad")
        if id(p) in first_position:
            raise ValueError(
                f"{owner}: parameters {first_position[id(p)]} and {index} are the same tensor; "
                "it would be updated twice per step"
            )
        first_position[id(p)] = index
    return checked


def weight_decayed(grad: Any, p: Tensor, weight_decay: float) -> Any:
    """``grad + weight_decay * p`` (L2 regularisation folded into the gradient), as a new array."""
    return grad if weight_decay == 0 else grad + weight_decay * p.data
