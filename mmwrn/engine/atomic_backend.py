"""Atomic checkpoint writes.

mmengine writes checkpoints (and ``LocalBackend.put`` / ``put_text`` in
general) in place, so a process killed during a save leaves a truncated file
under the final name, which ``--resume`` then picks. The ``atomic_saves`` host
mend (:mod:`mmwrn.host_mends`; on in mmwrn's tools and shipped configs) makes
:class:`AtomicLocalBackend` mmengine's backend for local paths (mmengine's
public ``register_backend``): it writes a temporary file in the same directory,
flushes it to disk and renames it over the target (``os.replace``), so the
target always holds either its old or its complete new content.
"""

import os
import os.path as osp
import secrets

from mmengine.fileio import LocalBackend


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
    (backend name ``local``, no prefix) by the ``atomic_saves`` host mend."""

    def put(self, obj, filepath):
        atomic_write(obj, filepath)

    def put_text(self, obj, filepath, encoding='utf-8'):
        atomic_write(obj.encode(encoding), filepath)
