"""The registry of model classes that a checkpoint can rebuild by name.

A model checkpoint stores its class name and ``config``; :func:`tinyae.io.load` looks the name up here and
calls ``cls(**config)``.  This layer sits below :mod:`tinyae.models`, so it cannot import the models:
instead each model class registers itself with the :func:`register_model` decorator when its module is
imported (``import tinyae.models`` registers them all).

>>> from tinyae import nn
>>> @register_model
... class Tiny(nn.Module):
...     pass
>>> MODEL_REGISTRY["Tiny"] is Tiny
True
>>> del MODEL_REGISTRY["Tiny"]
"""

from __future__ import annotations

from typing import Any, TypeVar

from tinyae.io.format import CheckpointError

__all__ = ["MODEL_REGISTRY", "model_class", "register_model"]

MODEL_REGISTRY: dict[str, type[Any]] = {}

C = TypeVar("C", bound=type)


def register_model(cls: C) -> C:
    """Class decorator: make ``cls`` loadable by its class name (registering it again is harmless).

    Raises
    ------
    ValueError
        When another class of the same name is registered already: a checkpoint could not tell them apart.
    """
    name = cls.__name__
    known = MODEL_REGISTRY.get(name)
    if known is not None and known is not cls:
        raise ValueError(
            f"a model class named {name!r} is registered already ({known.__module__}.{known.__qualname__}); "
            "checkpoints name classes, so the names must be unique"
        )
    MODEL_REGISTRY[name] = cls
    return cls


def model_class(name: str, module: str, path: str) -> type[Any]:
    """The registered class called ``name``, or a CheckpointError explaining how to register it."""
    try:
        return MODEL_REGISTRY[name]
    except KeyError:
        raise CheckpointError(
            f"{path}: no model class named {name!r} is registered (it was defined in {module!r}); import "
            "that module so that its classes register themselves, decorate the class with "
            "tinyae.io.register_model, or pass into=<a model> to load the weights into an existing one"
        ) from None
