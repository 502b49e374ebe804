"""Atomic checkpoint writes (mmwrn's LocalBackend for local paths)."""

import os
import stat

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

from mmwrn import host_mends
from mmwrn.engine.atomic_backend import AtomicLocalBackend, atomic_write

# what mmwrn's tools and shipped configs turn on (mmwrn.enable_host_mends)
host_mends.enable('atomic_saves')


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
