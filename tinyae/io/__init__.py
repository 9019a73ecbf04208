"""Checkpoints: ``save`` a model (and its optimizer) to a safetensors file, ``load`` it back on any backend.

- :func:`save`, :func:`load`: models (rebuilt by class name and ``config``, or loaded ``into=`` a module)
  and optimizers (loaded ``into=`` one built on the model's parameters), alone or in one file with their
  model (``save(model, path, optimizer=opt)``, ``load(path, into=model, optimizer=opt)``).
- :func:`save_state_dict`, :func:`load_state_dict`: bare named arrays; :func:`read_checkpoint` to inspect.
- :func:`register_model`, :data:`MODEL_REGISTRY`: the classes :func:`load` can rebuild by name.
- :class:`CheckpointError`: every malformed, corrupted or mismatched file, naming the file and the problem.

The files are plain safetensors, so PyTorch reads them too (``safetensors.torch.load_file``; see
docs/pytorch.md).  This layer sits beside :mod:`tinyae.nn` and :mod:`tinyae.optim` and imports neither:
it works with any object that has ``state_dict()`` and ``load_state_dict()``.

>>> import tempfile, pathlib, tinyae
>>> from tinyae import nn
>>> path = pathlib.Path(tempfile.mkdtemp()) / "layer.safetensors"
>>> save(nn.Linear(4, 2), path)
>>> read_checkpoint(path)[0]["arrays"][0]
{'name': 'weight', 'shape': [4, 2], 'dtype': 'float32'}
"""

from tinyae.io.checkpoint import load, load_state_dict, read_checkpoint, save, save_state_dict
from tinyae.io.format import FORMAT_VERSION, CheckpointError
from tinyae.io.registry import MODEL_REGISTRY, register_model

__all__ = [
    "FORMAT_VERSION",
    "MODEL_REGISTRY",
    "CheckpointError",
    "load",
    "load_state_dict",
    "read_checkpoint",
    "register_model",
    "save",
    "save_state_dict",
]
