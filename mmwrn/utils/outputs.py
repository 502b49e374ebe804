"""Files the command-line tools write: never one of their inputs, always
replaced atomically (a temporary file in the target folder, then a rename), and
a failure names the path and the reason."""

import io
import os.path as osp

from mmwrn.engine.atomic_backend import atomic_write


class OutputError(Exception):
    """An output path that is one of the inputs, or that cannot be written."""


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name the same file: the same path after
    resolving links, or (both existing) ``os.path.samefile`` (hard links)."""
    if osp.realpath(a) == osp.realpath(b):
        return True
    try:
        return osp.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def check_output(out, inputs, what='output'):
    """Raise :class:`OutputError` when ``out`` is one of ``inputs`` (paths;
    None entries are skipped), so that a tool never overwrites its input."""
    for path in inputs:
        if path is not None and same_file(out, path):
            raise OutputError(
                f'the {what} {out} is the input {path}: refusing to overwrite '
                'an input; give another output path'
            )
    if osp.isdir(out):
        raise OutputError(f'the {what} {out} is a directory; give a file path')


def write_bytes(data, out):
    """Write ``data`` to ``out`` atomically (:func:`atomic_write`); an
    ``OSError`` becomes an :class:`OutputError` naming ``out`` and the reason."""
    try:
        atomic_write(data, out)
    except OSError as e:
        reason = e.strerror or str(e)
        where = f' ({e.filename})' if e.filename and e.filename != out else ''
        raise OutputError(f'cannot write {out}: {reason}{where}') from None


def save_torch(obj, out, inputs=()):
    """``torch.save(obj, out)`` that refuses an ``out`` among ``inputs`` and
    replaces ``out`` atomically; returns the bytes written."""
    import torch

    check_output(out, inputs)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data = buffer.getvalue()
    write_bytes(data, out)
    return data
