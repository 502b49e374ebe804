"""Safe loading of checkpoints: no code inside a checkpoint ever runs, on
every supported torch, and mmengine can resume its own checkpoints.

mmengine 0.10.7 loads checkpoints with a plain ``torch.load``: unpickling that
can run arbitrary code on torch < 2.6, and that refuses mmengine's own
checkpoints on torch >= 2.6 (where ``weights_only=True`` became the default:
the message hub holds mmengine's ``HistoryBuffer`` and numpy arrays, dtypes
and scalars). The ``safe_loading`` host mend (:mod:`mmwrn.host_mends`; on in
mmwrn's tools and shipped configs) registers, through mmengine's public
``CheckpointLoader.register_scheme``, :func:`load_from_local` for local files
and :func:`load_from_http` for ``http(s)://`` URLs (downloaded as mmengine
does), which

* on torch >= 2.4 loads with ``weights_only=True``, the exact types mmengine
  writes added to torch's safe globals;
* on older torch (no ``add_safe_globals``) unpickles with
  :data:`RESTRICTED_PICKLE`, an unpickler that resolves only an exact
  allow-list of globals (torch's tensor rebuilders and storages, plain
  containers, the same mmengine and numpy types) and refuses anything else;
* raises :class:`UnsafeCheckpointError` naming the file and the refused object,
  :class:`CorruptCheckpointError` for a truncated or corrupt file, and a
  ``FileNotFoundError`` that says how to make the file when it is a checkpoint
  of mmwrn's model zoo (:func:`mmwrn.model_zoo.missing_checkpoint_hint`).

:func:`check_checkpoint_fits` refuses a checkpoint whose weights do not fit a
model (missing, unexpected, other shapes), which mmengine loads with a warning:
tools/test.py and tools/demo/image_demo.py call it (``--allow-partial-checkpoint``).
"""

import _compat_pickle
import collections
import logging
import os
import os.path as osp
import pickle
import re
import types
import zipfile
from urllib.parse import urlparse

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging import HistoryBuffer, print_log

# torch.serialization.add_safe_globals arrived in torch 2.4
HAS_SAFE_GLOBALS = hasattr(torch.serialization, 'add_safe_globals')

# what HistoryBuffer._set_default_statistics registers (filled on first use)
DEFAULT_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_method(obj, name):
    """Stands in for ``getattr`` while unpickling: mmengine's HistoryBuffer
    pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``.
    Only those methods resolve; any other lookup is refused."""
    method = HistoryBuffer.__dict__.get(name) if obj is HistoryBuffer else None
    if method is not None and (
        name in DEFAULT_STATISTICS or HistoryBuffer._statistics_methods.get(name) is method
    ):
        return method
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}): only HistoryBuffer statistics '
        'methods may be looked up in a checkpoint'
    )


def mmengine_checkpoint_types():
    """The non-tensor objects found in mmengine's checkpoints, for
    ``torch.serialization.add_safe_globals``."""
    multiarray = np.core.multiarray if hasattr(np, 'core') else np._core.multiarray
    dtype_classes = {type(np.dtype(t)) for t in set(np.sctypeDict.values())}
    return [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        multiarray._reconstruct,
        multiarray.scalar,
        (_history_buffer_method, 'builtins.getattr'),
        *sorted(dtype_classes, key=lambda c: c.__name__),
    ]


def _allowed_globals():
    """``{'module.name': object}`` that :data:`RESTRICTED_PICKLE` resolves:
    what torch writes for tensors, parameters and plain containers, plus
    :func:`mmengine_checkpoint_types`. Storage classes (``torch.FloatStorage``
    ...) never reach it: ``torch.load`` maps them itself."""
    import _codecs

    allowed = {
        'collections.OrderedDict': collections.OrderedDict,
        'torch.Size': torch.Size,
        'torch.device': torch.device,
        '_codecs.encode': _codecs.encode,  # bytes, in pickle protocol 2
        'builtins.set': set,
        'builtins.frozenset': frozenset,
        'builtins.complex': complex,
        'builtins.bytearray': bytearray,
        'torch._tensor._rebuild_from_type_v2': torch._tensor._rebuild_from_type_v2,
    }
    for name in (
        '_rebuild_tensor',
        '_rebuild_tensor_v2',
        '_rebuild_tensor_v3',
        '_rebuild_parameter',
        '_rebuild_parameter_with_state',
    ):
        if hasattr(torch._utils, name):
            allowed[f'torch._utils.{name}'] = getattr(torch._utils, name)
    for name in dir(torch):
        if isinstance(getattr(torch, name), torch.dtype):
            allowed[f'torch.{name}'] = getattr(torch, name)
    for obj in mmengine_checkpoint_types():
        obj, name = obj if isinstance(obj, tuple) else (obj, None)
        name = name or f'{obj.__module__}.{obj.__qualname__}'
        allowed[name] = obj
        # numpy 1.x and 2.x write the same functions under numpy.core / numpy._core
        for old, new in (('numpy.core.', 'numpy._core.'), ('numpy._core.', 'numpy.core.')):
            if name.startswith(old):
                allowed[new + name[len(old) :]] = obj
    return allowed


class _RestrictedUnpickler(pickle.Unpickler):
    allowed = None  # filled on first use

    def find_class(self, module, name):
        # Python 2 names (pickle protocol 2, torch's default), mapped as pickle's
        # own find_class does; no Python 3 module has one of these names
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        if _RestrictedUnpickler.allowed is None:
            _RestrictedUnpickler.allowed = _allowed_globals()
        obj = self.allowed.get(f'{module}.{name}')
        if obj is None:
            raise pickle.UnpicklingError(
                f'refused global {module}.{name}: not a tensor, a plain container '
                'or a type mmengine writes'
            )
        return obj


def _restricted_load(file, **kwargs):
    return _RestrictedUnpickler(file, **kwargs).load()


#: ``torch.load(f, pickle_module=RESTRICTED_PICKLE, weights_only=False)``
#: unpickles with an exact allow-list of globals (:func:`_allowed_globals`)
RESTRICTED_PICKLE = types.ModuleType('mmwrn_restricted_pickle')
RESTRICTED_PICKLE.Unpickler = _RestrictedUnpickler
RESTRICTED_PICKLE.load = _restricted_load


def _torch_load(filename, map_location):
    if HAS_SAFE_GLOBALS:
        return torch.load(filename, map_location=map_location, weights_only=True)
    return torch.load(
        filename, map_location=map_location, pickle_module=RESTRICTED_PICKLE, weights_only=False
    )


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that weights-only loading refuses."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is truncated or corrupt."""


def _integrity_problem(filename):
    """Why ``filename`` is not an intact checkpoint file, or None when its
    container is intact. torch writes zip archives with a CRC-32 per record;
    any other file is taken for torch's legacy format, which has no checksum."""
    size = osp.getsize(filename)
    if size == 0:
        return 'the file is empty'
    if not zipfile.is_zipfile(filename):
        return (
            f'the file ({size} bytes) is not a complete zip archive (a '
            'torch checkpoint is one): it was cut short or is not a checkpoint'
        )
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        return f'its zip structure is damaged ({e})'
    if bad is not None:
        return f'record {bad!r} fails its CRC-32 check'
    return None


def safe_load(filename, map_location=None):
    """``torch.load`` that runs no code from the file (weights-only, or the
    restricted unpickler before torch 2.4) with mmengine's types allowed and a
    clear error for anything else: :class:`UnsafeCheckpointError`
    for refused objects, :class:`CorruptCheckpointError` for a truncated or
    corrupt file (checked only when loading fails, so loading an intact file
    costs nothing extra)."""
    try:
        return _torch_load(filename, map_location)
    except Exception as e:  # noqa: BLE001 (classified below, re-raised)
        error = e
    problem = _integrity_problem(filename) if osp.isfile(filename) else None
    # weights-only refusals of a legacy-format (non-zip) file are not corruption
    refused = (
        isinstance(error, pickle.UnpicklingError)
        and re.search(r'GLOBAL|allowlist|refused', str(error)) is not None
    )
    if problem is not None and not refused:
        raise CorruptCheckpointError(
            f'{filename} is truncated or corrupt: {problem} ({type(error).__name__} '
            'in torch.load). If a job was killed while writing it, use an earlier '
            "checkpoint (mmwrn's tools and configs replace checkpoints atomically: "
            'an interrupted save leaves the previous one intact).'
        ) from None
    if isinstance(error, pickle.UnpicklingError):
        reason = re.search(
            r'(?:WeightsUnpickler error:\s*|^)(.*?)\s*(Check the documentation|$)', str(error), re.S
        )
        raise UnsafeCheckpointError(
            f'refused to load {filename}: it holds an object that is neither a '
            'tensor, a plain Python container, nor one of the types mmengine '
            f'writes ({reason.group(1) if reason else error}). '
            'mmwrn loads checkpoints weights-only, so code '
            'inside a checkpoint never runs. Load only files from a source '
            'you trust, converted to plain tensors (tools/publish_model.py).'
        ) from None
    raise error


def load_from_local(filename, map_location=None):
    """mmengine's loader for local paths, made safe (:func:`safe_load`) and
    with a hint for missing model-zoo checkpoints."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        from .model_zoo import missing_checkpoint_hint

        hint = missing_checkpoint_hint(filename)
        raise FileNotFoundError(f'{filename} can not be found.' + (f' {hint}' if hint else ''))
    return safe_load(filename, map_location)


def load_from_http(filename, map_location=None, model_dir=None, progress=False):
    """``http(s)://`` checkpoints: downloaded as mmengine does (rank 0 first,
    into ``<torch hub dir>/checkpoints``, kept there), then :func:`safe_load`
    (mmengine's own loader unpickles the download with a plain ``torch.load``)."""
    model_dir = model_dir or osp.join(torch.hub.get_dir(), 'checkpoints')
    cached = osp.join(model_dir, osp.basename(urlparse(filename).path))

    def download():
        if not osp.isfile(cached):
            os.makedirs(model_dir, exist_ok=True)
            torch.hub.download_url_to_file(filename, cached, progress=progress)

    rank, world_size = get_dist_info()
    if rank == 0:
        download()
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            download()  # a node without rank 0's file system
    return safe_load(cached, map_location)


class CheckpointMismatchError(RuntimeError):
    """A checkpoint whose weights do not match the model it is loaded into."""


def checkpoint_mismatch(model, state_dict):
    """Compare ``state_dict`` (a checkpoint's, ``module.`` prefixes removed as
    mmengine's loader removes them) with ``model`` (a model wrapper or a TTA
    model is unwrapped, as mmengine does). Returns ``(missing, unexpected,
    mismatched)``: sorted key lists, mismatched as ``'key: checkpoint (shape),
    model (shape)'``. BN ``num_batches_tracked`` counters are not required."""
    from mmengine.model import BaseTTAModel, is_model_wrapper

    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    target = model.state_dict()
    source = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    # BN batch counters: mmengine loads a checkpoint without them (converted ones)
    missing = sorted(k for k in set(target) - set(source) if not k.endswith('num_batches_tracked'))
    unexpected = sorted(set(source) - set(target))
    mismatched = [
        f'{k}: checkpoint {tuple(v.shape)}, model {tuple(target[k].shape)}'
        for k, v in sorted(source.items())
        if k in target and hasattr(v, 'shape') and v.shape != target[k].shape
    ]
    return missing, unexpected, mismatched


def check_checkpoint_fits(model, checkpoint, filename, allow_partial=False, flag=None, shown=5):
    """Raise :class:`CheckpointMismatchError` when ``checkpoint`` (loaded from
    ``filename``) has missing, unexpected or differently shaped weights for
    ``model``, listing the first ``shown`` keys of each kind; with
    ``allow_partial`` log the same as a warning instead. ``flag`` is the
    opt-in the message names (e.g. a command-line flag)."""
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict):
        raise CheckpointMismatchError(
            f'{filename} holds no state dict (a {type(checkpoint).__name__})'
        )
    missing, unexpected, mismatched = checkpoint_mismatch(model, state_dict)
    if not (missing or unexpected or mismatched):
        return
    parts = []
    for title, keys in (
        ('missing from the checkpoint', missing),
        ('in the checkpoint but not in the model', unexpected),
        ('with a different shape', mismatched),
    ):
        if keys:
            more = f'\n    ... and {len(keys) - shown} more' if len(keys) > shown else ''
            parts.append(
                f'  {len(keys)} weights {title}:\n    ' + '\n    '.join(keys[:shown]) + more
            )
    message = f'{filename} does not match the model (wrong config or wrong file?):\n' + '\n'.join(
        parts
    )
    if allow_partial:
        print_log(
            message + '\nloaded anyway (partial checkpoint allowed): those weights '
            "keep their initialisation; results are not the checkpoint's",
            'current',
            level=logging.WARNING,
        )
        return
    raise CheckpointMismatchError(
        message + f'\nResults from it would be wrong. {flag or "allow_partial=True"} loads it '
        'anyway (those weights keep their random initialisation).'
    )
