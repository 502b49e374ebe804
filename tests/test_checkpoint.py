"""Safe loading of mmengine checkpoints (weights-only on torch >= 2.4, the
restricted unpickler before), errors for damaged and missing files."""

import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

import mmwrn.checkpoint as ckpt_module
from mmwrn import host_mends
from mmwrn.checkpoint import (
    RESTRICTED_PICKLE,
    CorruptCheckpointError,
    UnsafeCheckpointError,
    safe_load,
)

# what mmwrn's tools and shipped configs turn on (mmwrn.enable_host_mends)
host_mends.enable('safe_loading')

LOADERS = ['weights_only', 'restricted']


@pytest.fixture(params=LOADERS)
def loader(request, monkeypatch):
    """Runs a test with each of the two loading paths: weights-only (torch >=
    2.4) and the restricted unpickler (what older torch uses; forced here)."""
    if request.param == 'weights_only' and not ckpt_module.HAS_SAFE_GLOBALS:
        pytest.skip(f'torch {torch.__version__} has no add_safe_globals')
    monkeypatch.setattr(ckpt_module, 'HAS_SAFE_GLOBALS', request.param == 'weights_only')
    return request.param


@pytest.mark.compat
def test_mmengine_message_hub_and_numpy_round_trip(tmp_path, loader):
    hub = MessageHub.get_instance('mmwrn_test_hub')
    for v in (1.0, np.float64(2.5), torch.tensor(3.0)):
        hub.update_scalar('train/loss', v)
    hub.update_info('seed', np.int64(7))
    ckpt = dict(
        state_dict={'w': torch.ones(2)},
        message_hub=hub.state_dict(),
        meta=dict(seed=np.int64(7), dataset_meta=dict(classes=('a', 'b'), palette=[[1, 2, 3]])),
        arr=np.arange(4, dtype=np.float32),
    )
    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint(ckpt, path)
    loaded = _load_checkpoint(path, map_location='cpu')
    buf = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer) and buf.mean() == pytest.approx(6.5 / 3)
    assert loaded['meta']['seed'] == 7 and loaded['arr'].dtype == np.float32
    # what mmengine writes also passes the other path
    if ckpt_module.HAS_SAFE_GLOBALS:
        assert torch.load(path, weights_only=True)['message_hub']['runtime_info']['seed'] == 7
    restricted = torch.load(path, pickle_module=RESTRICTED_PICKLE, weights_only=False)
    assert restricted['message_hub']['runtime_info']['seed'] == 7


class _Payload:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f'touch {self.path}',))


class _GetattrPayload:
    """Looks up something other than a statistics method via getattr."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, 'update'))


@pytest.mark.compat
@pytest.mark.parametrize('make', [lambda p: _Payload(p), lambda p: _GetattrPayload()])
def test_malicious_checkpoint_is_refused_and_payload_never_runs(tmp_path, make, loader):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': make(marker)}, path, pickle_protocol=2)
    with pytest.raises(UnsafeCheckpointError, match='refused to load .*evil.pth'):
        _load_checkpoint(str(path))
    with pytest.raises(pickle.UnpicklingError):
        safe_load(str(path))
    assert not marker.exists()


@pytest.mark.slow
def test_fresh_process_loads_history_buffers(tmp_path):
    """No HistoryBuffer exists yet in a new process (mmengine fills its
    statistics table lazily): loading must still accept its methods."""
    import subprocess
    import sys

    hub = MessageHub.get_instance('mmwrn_test_hub_fresh')
    hub.update_scalar('train/loss', 1.5)
    path = tmp_path / 'ckpt.pth'
    save_checkpoint(dict(message_hub=hub.state_dict()), str(path))
    code = (
        'import mmwrn.enable_host_mends\n'
        'from mmengine.runner.checkpoint import _load_checkpoint\n'
        f'c = _load_checkpoint({str(path)!r})\n'
        "print(c['message_hub']['log_scalars']['train/loss'].current())"
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-1] == '1.5'


def _damaged(tmp_path, damage):
    good = tmp_path / 'good.pth'
    save_checkpoint(dict(state_dict={'w': torch.randn(300)}, meta=dict(iter=3)), str(good))
    data = good.read_bytes()
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(
        {
            'half': data[: len(data) // 2],
            'empty': b'',
            'end_cut': data[:-5],
            'garbage': bytes(range(256)) * 4,
        }[damage]
    )
    return str(bad)


@pytest.mark.parametrize('damage', ['half', 'empty', 'end_cut', 'garbage'])
def test_truncated_or_corrupt_checkpoint_error_names_the_file(tmp_path, damage):
    bad = _damaged(tmp_path, damage)
    with pytest.raises(CorruptCheckpointError, match=f'{bad} is truncated or corrupt'):
        _load_checkpoint(bad)  # mmengine's loader (load_from, --resume, init_cfg)


class _Global:
    """Pickles as a reference to an arbitrary global, like a crafted file."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __reduce__(self):
        return (_resolve, (self.module, self.name))


def _resolve(module, name):
    return getattr(__import__(module, fromlist=[name]), name)


@pytest.mark.compat
@pytest.mark.parametrize(
    'module, name',
    [('builtins', 'eval'), ('numpy', 'load'), ('torch', 'load'), ('subprocess', 'Popen')],
)
def test_restricted_unpickler_resolves_only_its_allow_list(tmp_path, module, name):
    """The fallback of torch < 2.4 refuses every global outside its list,
    before importing or calling anything."""
    path = tmp_path / 'crafted.pth'
    torch.save({'w': torch.ones(2), 'x': _Global(module, name)}, path)
    with pytest.raises(pickle.UnpicklingError, match='refused global'):
        torch.load(path, pickle_module=RESTRICTED_PICKLE, weights_only=False)


@pytest.mark.compat
def test_url_checkpoints_are_downloaded_then_loaded_safely(tmp_path, monkeypatch, loader):
    """http(s):// goes through mmwrn's loader too (mmengine's would unpickle
    the download with a plain torch.load): a good file loads, a crafted one
    is refused and its payload never runs."""
    from mmengine.runner import CheckpointLoader

    marker = tmp_path / 'pwned'
    served = tmp_path / 'served'
    served.mkdir()
    torch.save({'state_dict': {'w': torch.ones(2)}}, served / 'good.pth')
    torch.save({'state_dict': {}, 'x': _Payload(marker)}, served / 'evil.pth')
    fetched = []

    def fake_download(url, dst, progress=True):
        fetched.append(url)
        with open(served / os.path.basename(url), 'rb') as src, open(dst, 'wb') as out:
            out.write(src.read())

    monkeypatch.setattr(torch.hub, 'download_url_to_file', fake_download)
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(tmp_path / 'hub'))
    good = CheckpointLoader.load_checkpoint('https://example.org/models/good.pth', 'cpu')
    assert torch.equal(good['state_dict']['w'], torch.ones(2))
    assert (tmp_path / 'hub' / 'checkpoints' / 'good.pth').is_file()
    with pytest.raises(UnsafeCheckpointError, match='refused to load .*evil.pth'):
        CheckpointLoader.load_checkpoint('http://example.org/evil.pth', 'cpu')
    assert not marker.exists()
    CheckpointLoader.load_checkpoint('https://example.org/models/good.pth', 'cpu')
    assert fetched == ['https://example.org/models/good.pth', 'http://example.org/evil.pth']
