"""Weights-only loading of mmengine checkpoints (torch >= 2.6)."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

import mmwrn  # noqa: F401
from mmwrn.checkpoint import UnsafeCheckpointError, safe_load


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
