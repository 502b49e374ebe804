"""Weights-only loading of mmengine checkpoints (torch >= 2.6), errors for
damaged files, atomic writes."""
import os
import pickle
import stat

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

import mmwrn  # noqa: F401
from mmwrn.checkpoint import (AtomicLocalBackend, CorruptCheckpointError,
                              UnsafeCheckpointError, atomic_write, safe_load)


def test_mmengine_message_hub_and_numpy_round_trip(tmp_path):
    hub = MessageHub.get_instance('mmwrn_test_hub')
    for v in (1.0, np.float64(2.5), torch.tensor(3.0)):
        hub.update_scalar('train/loss', v)
    hub.update_info('seed', np.int64(7))
    ckpt = dict(state_dict={'w': torch.ones(2)}, message_hub=hub.state_dict(),
                meta=dict(seed=np.int64(7), dataset_meta=dict(classes=('a', 'b'),
                                                              palette=[[1, 2, 3]])),
                arr=np.arange(4, dtype=np.float32))
    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint(ckpt, path)
    loaded = _load_checkpoint(path, map_location='cpu')
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and buf.mean() == pytest.approx(6.5 / 3)
    assert loaded['meta']['seed'] == 7 and loaded['arr'].dtype == np.float32
    # plain torch.load also works, still weights-only
    assert torch.load(path)['message_hub']['runtime_info']['seed'] == 7


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f'touch {self.path}', ))


class _GetattrPayload:
    """Looks up something other than a statistics method via getattr."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, 'update'))


@pytest.mark.parametrize('make', [lambda p: _Payload(p), lambda p: _GetattrPayload()])
def test_malicious_checkpoint_is_refused_and_payload_never_runs(tmp_path, make):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': make(marker)}, path, pickle_protocol=2)
    with pytest.raises(UnsafeCheckpointError, match='refused to load .*evil.pth'):
        _load_checkpoint(str(path))
    with pytest.raises(pickle.UnpicklingError):
        safe_load(str(path))
    assert not marker.exists()


def test_fresh_process_loads_history_buffers(tmp_path):
    """No HistoryBuffer exists yet in a new process (mmengine fills its
    statistics table lazily): loading must still accept its methods."""
    import subprocess
    import sys
    hub = MessageHub.get_instance('mmwrn_test_hub_fresh')
    hub.update_scalar('train/loss', 1.5)
    path = tmp_path / 'ckpt.pth'
    save_checkpoint(dict(message_hub=hub.state_dict()), str(path))
    code = ('import mmwrn\nfrom mmengine.runner.checkpoint import _load_checkpoint\n'
            f'c = _load_checkpoint({str(path)!r})\n'
            "print(c['message_hub']['log_scalars']['train/loss'].current())")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == '1.5'


def _damaged(tmp_path, damage):
    good = tmp_path / 'good.pth'
    save_checkpoint(dict(state_dict={'w': torch.randn(300)}, meta=dict(iter=3)), str(good))
    data = good.read_bytes()
    bad = tmp_path / 'bad.pth'
    bad.write_bytes({'half': data[:len(data) // 2], 'empty': b'', 'end_cut': data[:-5],
                     'garbage': bytes(range(256)) * 4}[damage])
    return str(bad)


@pytest.mark.parametrize('damage', ['half', 'empty', 'end_cut', 'garbage'])
def test_truncated_or_corrupt_checkpoint_error_names_the_file(tmp_path, damage):
    bad = _damaged(tmp_path, damage)
    with pytest.raises(CorruptCheckpointError, match=f'{bad} is truncated or corrupt'):
        _load_checkpoint(bad)  # mmengine's loader (load_from, --resume, init_cfg)


def test_local_writes_go_through_the_atomic_backend(tmp_path, monkeypatch):
    assert type(get_file_backend(str(tmp_path))) is AtomicLocalBackend
    path = tmp_path / 'ckpt.pth'
    save_checkpoint({'w': torch.ones(3)}, str(path))  # mmengine's writer
    old = path.read_bytes()

    def disk_full(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', disk_full)
    with pytest.raises(OSError, match='disk full'):
        save_checkpoint({'w': torch.zeros(1000)}, str(path))
    # the failed write left the old file and no temporary file
    assert path.read_bytes() == old and os.listdir(tmp_path) == ['ckpt.pth']
    monkeypatch.undo()
    save_checkpoint({'w': torch.zeros(3)}, str(path))
    assert torch.equal(torch.load(path)['w'], torch.zeros(3))
    with open(tmp_path / 'plain', 'w'):
        pass
    assert os.stat(path).st_mode == os.stat(tmp_path / 'plain').st_mode, 'mode as open()'
    assert sorted(os.listdir(tmp_path)) == ['ckpt.pth', 'plain']


def test_atomic_write_follows_links_and_writes_special_files_in_place(tmp_path):
    real = tmp_path / 'real.txt'
    real.write_text('old')
    link = tmp_path / 'link.txt'
    link.symlink_to(real)
    get_file_backend(str(link)).put_text('new', str(link))
    assert link.is_symlink() and real.read_text() == 'new'
    fifo = str(tmp_path / 'fifo')
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        atomic_write(b'through', fifo)
        assert os.read(reader, 100) == b'through'
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
