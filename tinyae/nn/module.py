"""``Module``: the base class of layers and models, which registers parameters, buffers and submodules.

Registered attributes are ordinary attributes (``layer.weight`` is found by Python's normal lookup, there
is no ``__getattr__`` fallback, so a typo is an ``AttributeError``).  ``__setattr__`` additionally notes
each :class:`Parameter`, buffer and submodule name, in the order of assignment, so that
``named_parameters()`` and ``state_dict()`` list them in that order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from tinyae.backend import Backend, dtype_name, get_backend
from tinyae.nn.parameter import Parameter
from tinyae.tensor import Tensor, tensor

__all__ = ["IncompatibleKeys", "Module"]

_PARAMETER, _BUFFER, _MODULE = "parameter", "buffer", "module"


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` skipped: keys the model has but the state_dict lacks, and
    keys the state_dict has but the model lacks."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model: subclass it, assign parameters and layers, write ``forward``.

    Examples
    --------
    >>> import tinyae
    >>> from tinyae import nn
    >>> class Affine(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.scale = nn.Parameter([2.0])
    ...         self.shift = nn.Parameter([1.0])
    ...     def forward(self, x):
    ...         return x * self.scale + self.shift
    >>> [name for name, _ in Affine().named_parameters()]
    ['scale', 'shift']
    >>> Affine()(tinyae.tensor([3.0])).item()
    7.0
    """

    training: bool
    _kinds: dict[str, str]

    def __init__(self) -> None:
        # name -> kind, in registration order; set through object.__setattr__ to bypass our own hook
        object.__setattr__(self, "_kinds", {})
        self.training = True

    # --- registration -----------------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        kinds: dict[str, str] | None = self.__dict__.get("_kinds")
        kind = _kind_of(value)
        if kinds is None:
            if kind is not None:
                raise AttributeError(
                    f"cannot assign {kind} {name!r} before Module.__init__() is called: "
                    "call super().__init__() first"
                )
        elif kind is not None:
            if kinds.get(name) != kind:  # a new name, or one re-used for another kind, goes to the end;
                kinds.pop(name, None)  # a new value of the same kind keeps its place in the order
                kinds[name] = kind
        elif name in kinds:
            registered = kinds[name]
            # None empties a slot (skipped by parameters() and state_dict()); a buffer takes any tensor
            if value is not None and not (registered == _BUFFER and isinstance(value, Tensor)):
                wanted = "Parameter" if registered == _PARAMETER else "Module"
                raise TypeError(
                    f"cannot assign {type(value).__name__} to {registered} {name!r} of "
                    f"{type(self).__name__}: expected a {wanted} or None (delete the attribute first to "
                    "reuse the name)"
                )
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self.__dict__.get("_kinds", {}).pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: Tensor | None) -> None:
        """Register a tensor that is state but not trained (saved in ``state_dict``, moved by ``to``)."""
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"buffer {name!r} must be a Tensor or None, not {type(value).__name__}")
        if isinstance(value, Parameter):
            raise TypeError(f"buffer {name!r} must not be a Parameter; assign it as an attribute instead")
        if "_kinds" not in self.__dict__:
            raise AttributeError(f"cannot register buffer {name!r} before Module.__init__() is called")
        self._kinds.pop(name, None)
        self._kinds[name] = _BUFFER
        object.__setattr__(self, name, value)

    def add_module(self, name: str, module: Module) -> None:
        """Register ``module`` under ``name`` (which need not be an identifier: Sequential uses "0", "1")."""
        if not isinstance(module, Module):
            raise TypeError(f"add_module({name!r}) needs a Module, not {type(module).__name__}")
        setattr(self, name, module)

    def _own(self, kind: str) -> Iterator[tuple[str, Any]]:
        """This module's own (name, value) pairs of one kind, in registration order, skipping None."""
        for name, registered in self._kinds.items():
            value = self.__dict__.get(name)
            if registered == kind and value is not None:
                yield name, value

    # --- traversal --------------------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every submodule, depth first, each module once."""
        seen: set[int] = set()  # identities of modules already listed (a module shared in two places)
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(_join(name, child_name), child) for child_name, child in module._own(_MODULE)]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, each once."""
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator[Module]:
        """The direct submodules, in registration order."""
        for _, module in self._own(_MODULE):
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each once, under the first name it was found by.

        A parameter registered in two places (tied weights) is listed once, so an optimizer updates it once.
        """
        yield from self._named_unique(_PARAMETER, prefix)

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter, each once, in registration order (submodules' after their parent's own)."""
        for _, parameter in self.named_parameters():
            yield parameter

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) for every buffer (running statistics and the like), each once."""
        yield from self._named_unique(_BUFFER, prefix)

    def buffers(self) -> Iterator[Tensor]:
        """Every buffer, each once."""
        for _, buffer in self.named_buffers():
            yield buffer

    def _named_unique(self, kind: str, prefix: str) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()  # identities, only to skip repeats within this one walk
        for module_name, module in self.named_modules(prefix):
            for name, value in module._own(kind):
                if id(value) not in seen:
                    seen.add(id(value))
                    yield _join(module_name, name), value

    # --- modes and gradients ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (``True``) or evaluation mode on this module and every submodule."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: batch norm uses its running averages; same as ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget every parameter's gradient (``None``, or zeros with ``set_to_none=False``)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.backend.xp.zeros_like(p.data)  # a new array: .grad may be shared with another

    # --- forward ----------------------------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- state ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Tensor]:
        """Copies of every parameter and buffer, by dotted name (``"0.weight"``, ``"1.running_mean"``).

        Each module lists its own parameters, then its own buffers, then its submodules'.  A parameter
        registered under two names appears under both, as in PyTorch.  The values are detached tensors on
        the module's backend; ``.numpy()`` gives host arrays.
        """
        state: dict[str, Tensor] = {}
        for name, value in self._state_items():
            state[name] = tensor(value.data, dtype=value.dtype, backend=value.backend)  # always a copy
        return state

    def _state_items(self) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) of every parameter and buffer, under every name it is registered by."""
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, module = stack.pop()
            for kind in (_PARAMETER, _BUFFER):
                for name, value in module._own(kind):
                    yield _join(prefix, name), value
            stack.extend(reversed([(_join(prefix, n), m) for n, m in module._own(_MODULE)]))

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, checking names and shapes first.

        Values may be tensors, backend arrays or NumPy arrays; each is copied to this module's backend and
        cast to the target's dtype.  Nothing is changed unless every check passes.  A shape mismatch is
        always an error; missing and unexpected keys are errors with ``strict=True`` (the default) and are
        returned otherwise.

        Raises
        ------
        RuntimeError
            Naming every missing and unexpected key and, for each size mismatch, the key and both shapes.
        """
        targets = dict(self._state_items())
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        problems = []
        if strict and missing:
            problems.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if strict and unexpected:
            problems.append(
                "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + "."
            )
        values: dict[str, Any] = {}
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = tensor(state_dict[key], dtype=target.dtype, backend=target.backend).data
            if tuple(value.shape) != target.shape:
                problems.append(
                    f"size mismatch for {key}: the state_dict has shape {tuple(value.shape)}, "
                    f"the model has shape {target.shape}."
                )
            values[key] = value
        if problems:
            lines = "\n\t".join(problems)
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t{lines}")
        for key, value in values.items():
            targets[key].data = value
        return IncompatibleKeys(missing, unexpected)

    # --- backends ---------------------------------------------------------------------------------------
    def to(self, backend: str | Backend) -> Module:
        """Move every parameter, gradient and buffer to another backend, in place, and return ``self``.

        The Parameter objects stay the same (tied weights stay tied); build optimizers after moving.
        """
        target = get_backend(backend)
        for t in [*self.parameters(), *self.buffers()]:
            if t.backend is target:
                continue
            t.data = _moved(t.data, t.backend, target)
            if t.grad is not None:
                t.grad = _moved(t.grad, t.backend, target)
            t.backend = target
        return self

    # --- printing ---------------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr (its settings); override it."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): {_indent(repr(module))}" for name, module in self._own(_MODULE)]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        return head + "\n  " + "\n  ".join(children) + "\n)"


def _kind_of(value: Any) -> str | None:
    if isinstance(value, Parameter):
        return _PARAMETER
    if isinstance(value, Module):
        return _MODULE
    return None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")


def _moved(array: Any, source: Backend, target: Backend) -> Any:
    # through the host, then copied: the result must own its memory, since optimizers update in place
    return target.xp.asarray(target.asarray(source.to_numpy(array)), copy=True)


def placement(t: Tensor) -> str:
    """``, dtype=float64`` and ``, backend='strict'`` where they differ from the defaults (for reprs)."""
    dtype = dtype_name(t.dtype)
    text = f", dtype={dtype}" if dtype != "float32" else ""
    return text + (f", backend={t.backend.name!r}" if t.backend.name != "numpy" else "")
