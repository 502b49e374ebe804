"""Safe loading and atomic writing of mmengine checkpoints.

Loading (torch >= 2.6): torch 2.6 made ``torch.load(weights_only=True)`` the default, and mmengine
0.10.7 writes types the weights-only unpickler refuses (its ``HistoryBuffer``
and numpy arrays, dtypes and scalars in the message hub), so mmengine can
neither resume nor test its own checkpoints. Importing mmwrn fixes this while
keeping weights-only loading on:

* the exact types mmengine writes are added to torch's safe globals;
* mmengine's loader for local files is replaced by one that always passes
  ``weights_only=True`` and turns a refusal into an error naming the file and
  the refused object. Nothing in mmwrn ever loads with ``weights_only=False``;
* a truncated or corrupt file raises :class:`CorruptCheckpointError`, naming
  the file, instead of torch's zip-reader or unpickler message.

Writing: mmengine writes checkpoints (and ``LocalBackend.put`` / ``put_text``
in general) in place, so a process killed during a save leaves a truncated
file under the final name. :class:`AtomicLocalBackend` replaces mmengine's
backend for local paths: it writes a temporary file in the same directory,
flushes it to disk and renames it over the target (``os.replace``), so the
target always holds either its old or its complete new content.
"""
import os
import os.path as osp
import pickle
import re
import secrets
import zipfile

import numpy as np
import torch
from mmengine.fileio import LocalBackend, register_backend
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
        return (f'the file ({size} bytes) is not a complete zip archive (a '
                'torch checkpoint is one): it was cut short or is not a checkpoint')
    try:
        with zipfile.ZipFile(filename) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        return f'its zip structure is damaged ({e})'
    if bad is not None:
        return f'record {bad!r} fails its CRC-32 check'
    return None


def safe_load(filename, map_location=None):
    """``torch.load(filename, weights_only=True)`` with mmengine's types
    allowed and a clear error for anything else: :class:`UnsafeCheckpointError`
    for refused objects, :class:`CorruptCheckpointError` for a truncated or
    corrupt file (checked only when loading fails, so loading an intact file
    costs nothing extra)."""
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 (classified below, re-raised)
        error = e
    problem = _integrity_problem(filename) if osp.isfile(filename) else None
    # weights-only refusals of a legacy-format (non-zip) file are not corruption
    refused = (isinstance(error, pickle.UnpicklingError)
               and re.search(r'GLOBAL|allowlist|refused', str(error)) is not None)
    if problem is not None and not refused:
        raise CorruptCheckpointError(
            f'{filename} is truncated or corrupt: {problem} ({type(error).__name__} '
            'in torch.load). If a job was killed while writing it, use an earlier '
            'checkpoint (with mmwrn imported, checkpoints are replaced atomically: '
            'an interrupted save leaves the previous one intact).') from None
    if isinstance(error, pickle.UnpicklingError):
        reason = re.search(r'WeightsUnpickler error:\s*(.*?)\s*(Check the documentation|$)',
                           str(error), re.S)
        raise UnsafeCheckpointError(
            f'refused to load {filename}: it holds an object that is neither a '
            'tensor, a plain Python container, nor one of the types mmengine '
            f'writes ({reason.group(1) if reason else error}). '
            'mmwrn loads checkpoints with weights_only=True, so code '
            'inside a checkpoint never runs. Load only files from a source '
            'you trust, converted to plain tensors (tools/publish_model.py).'
        ) from None
    raise error


def atomic_write(data, filepath):
    """Write ``data`` (bytes or str, str as UTF-8) to ``filepath`` atomically:
    a temporary file in the same directory, flushed to disk (``fsync``), then
    renamed over ``filepath``. A symbolic link is followed (its target is
    replaced); a path that exists and is not a regular file (a device, a FIFO)
    is written in place, as ``open`` would."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    target = osp.realpath(filepath)
    if osp.exists(target) and not osp.isfile(target):
        with open(target, 'wb') as f:
            f.write(data)
        return
    directory, name = osp.split(target)
    os.makedirs(directory, exist_ok=True)
    while True:  # a new name for this writer; open() applies the umask to 0o666
        tmp = osp.join(directory, f'{name}.{os.getpid()}-{secrets.token_hex(4)}.tmp')
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    """Make a rename in ``directory`` durable (best effort: not every file
    system supports opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AtomicLocalBackend(LocalBackend):
    """mmengine's ``LocalBackend`` whose ``put`` and ``put_text`` replace the
    target atomically (:func:`atomic_write`). Registered for local paths
    (backend name ``local``, no prefix) by :func:`install`."""

    def put(self, obj, filepath):
        atomic_write(obj, filepath)

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(obj.encode(encoding), filepath)


def _load_from_local(filename, map_location):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_load(filename, map_location)


def install():
    """Allow mmengine's checkpoint types, make mmengine's local checkpoint
    loading weights-only and its local file writes atomic. Idempotent; called
    when mmwrn is imported."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_types())
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
