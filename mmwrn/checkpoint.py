"""Safe loading of mmengine checkpoints on torch >= 2.6.

torch 2.6 made ``torch.load(weights_only=True)`` the default, and mmengine
0.10.7 writes types the weights-only unpickler refuses (its ``HistoryBuffer``
and numpy arrays, dtypes and scalars in the message hub), so mmengine can
neither resume nor test its own checkpoints. Importing mmwrn fixes this while
keeping weights-only loading on:

* the exact types mmengine writes are added to torch's safe globals;
* mmengine's loader for local files is replaced by one that always passes
  ``weights_only=True`` and turns a refusal into an error naming the file and
  the refused object. Nothing in mmwrn ever loads with ``weights_only=False``.
"""
import os.path as osp
import pickle
import re

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader


# what HistoryBuffer._set_default_statistics registers (filled on first use)
DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_method(obj, name):
    """Stands in for ``getattr`` while unpickling: mmengine's HistoryBuffer
    pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``.
    Only those methods resolve; any other lookup is refused."""
    method = HistoryBuffer.__dict__.get(name) if obj is HistoryBuffer else None
    if method is not None and (name in DEFAULT_STATISTICS
                               or HistoryBuffer._statistics_methods.get(name) is method):
        return method
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}): only HistoryBuffer statistics '
        'methods may be looked up in a checkpoint')


def mmengine_checkpoint_types():
    """The non-tensor objects found in mmengine's checkpoints, for
    ``torch.serialization.add_safe_globals``."""
    multiarray = np.core.multiarray if hasattr(np, 'core') else np._core.multiarray
    dtype_classes = {type(np.dtype(t)) for t in set(np.sctypeDict.values())}
    return [HistoryBuffer, np.ndarray, np.dtype, multiarray._reconstruct,
            multiarray.scalar, (_history_buffer_method, 'builtins.getattr'),
            *sorted(dtype_classes, key=lambda c: c.__name__)]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that weights-only loading refuses."""


def safe_load(filename, map_location=None):
    """``torch.load(filename, weights_only=True)`` with mmengine's types
    allowed and a clear error for anything else."""
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        reason = re.search(r'WeightsUnpickler error:\s*(.*?)\s*(Check the documentation|$)',
                           str(e), re.S)
        raise UnsafeCheckpointError(
            f'refused to load {filename}: it holds an object that is neither a '
            'tensor, a plain Python container, nor one of the types mmengine '
            f'writes ({reason.group(1) if reason else e}). '
            'mmwrn loads checkpoints with weights_only=True, so code '
            'inside a checkpoint never runs. Load only files from a source '
            'you trust, converted to plain tensors (tools/publish_model.py).'
        ) from None


def _load_from_local(filename, map_location):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_load(filename, map_location)


def install():
    """Allow mmengine's checkpoint types and make mmengine's local checkpoint
    loading weights-only. Idempotent; called when mmwrn is imported."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_types())
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)
