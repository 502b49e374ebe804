"""mmwrn.host_mends: a plain ``import mmwrn`` leaves another OpenMMLab
codebase's checkpoint reads and writes as they were (an mmdet process whose
config lists mmwrn in ``custom_imports``); the switch (``enable``, the shipped
configs, ``MMWRN_HOST_MENDS``) turns mmwrn's guarantees on. Each case runs in a
fresh process: mends are process-wide and cannot be turned off."""

import glob
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmwrn import host_mends

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
needs_mmdet = pytest.mark.skipif(
    importlib.util.find_spec('mmdet') is None, reason='needs mmdet (the other OpenMMLab codebase)'
)

# run in a fresh process: an mmdet "user" who imports mmwrn, tables before and after
PRELUDE = """
import os, pickle, sys
import torch
import mmdet.models  # noqa: F401  (mmdet registers its modules)
from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import registry_utils
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

def tables():
    return (dict(CheckpointLoader._schemes), dict(registry_utils.backends),
            dict(registry_utils.prefix_to_backends))

def safe_globals():
    get = getattr(torch.serialization, 'get_safe_globals', lambda: [])
    return [g if isinstance(g, tuple) else (g, None) for g in get()]

class Payload:  # a crafted checkpoint: unpickling it creates the marker file
    def __reduce__(self):
        return (os.makedirs, (MARKER,))

before, globals_before = tables(), safe_globals()
"""


def run_python(code, tmp_path, env=None):
    out = subprocess.run(
        [sys.executable, '-c', code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=ROOT, **(env or {})),
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


@pytest.mark.slow
@needs_mmdet
def test_import_mmwrn_in_an_mmdet_process_changes_no_checkpoint_io(tmp_path):
    code = (
        f'MARKER = {str(tmp_path / "pwned")!r}\n'
        + PRELUDE
        + """
import mmwrn
from mmwrn import host_mends
assert tables() == before, 'import mmwrn changed the loaders or the file backends'
added = [g for g in safe_globals() if g not in globals_before]
if host_mends.host_is_broken():  # torch >= 2.6 + mmengine 0.10: the one default mend
    assert host_mends.enabled() == ('weights_only_types',), host_mends.enabled()
    from mmwrn.checkpoint import mmengine_checkpoint_types
    assert {g[0] for g in added} == {
        t[0] if isinstance(t, tuple) else t for t in mmengine_checkpoint_types()}
else:
    assert host_mends.enabled() == () and added == [], (host_mends.enabled(), added)
# mmdet's checkpoints: written by mmengine's own backend, read by mmengine's own loader
path = 'det.pth'
assert type(get_file_backend(path)).__name__ == 'LocalBackend'
save_checkpoint({'state_dict': {'w': torch.ones(2)}, 'meta': {'epoch': 3}}, path)
assert _load_checkpoint(path, map_location='cpu')['meta'] == {'epoch': 3}
try:
    _load_checkpoint('missing.pth')
except FileNotFoundError as e:
    print('missing:', e)
from mmseg.apis import MMSegInferencer
print('mmseg lookup:', MMSegInferencer._load_model_from_metafile.__module__)
"""
    )
    out = run_python(code, tmp_path)
    assert (
        'missing: missing.pth can not be found.' in out
        and 'mmwrn' not in out.split('missing:')[1].split('\n')[0]
    )
    assert 'mmseg lookup: mmengine.infer.infer' in out


@pytest.mark.slow
@needs_mmdet
def test_the_switch_turns_the_guarantees_on_in_an_mmdet_process(tmp_path):
    """``host_mends.enable()``: crafted checkpoints refused without running,
    atomic saves, mmwrn's names in MMSegInferencer."""
    code = (
        f'MARKER = {str(tmp_path / "pwned")!r}\n'
        + PRELUDE
        + """
torch.save({'state_dict': {}, 'meta': Payload()}, 'crafted.pth')
import mmwrn
from mmwrn import host_mends
from mmwrn.checkpoint import UnsafeCheckpointError, load_from_local
print('enabled:', ','.join(host_mends.enable()))
assert tables() != before
assert CheckpointLoader._schemes[''] is load_from_local
try:
    _load_checkpoint('crafted.pth')
    print('LOADED')
except UnsafeCheckpointError as e:
    print('refused:', type(e).__name__)
assert type(get_file_backend('x.pth')).__name__ == 'AtomicLocalBackend'
save_checkpoint({'state_dict': {'w': torch.ones(2)}}, 'ok.pth')
assert sorted(os.listdir('.')) == ['crafted.pth', 'ok.pth'], os.listdir('.')
from mmseg.apis import MMSegInferencer
try:
    MMSegInferencer(model='twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504')
except FileNotFoundError as e:
    print('name resolved:', 'ademxapp2mmwrn.py' in str(e))
"""
    )
    out = run_python(code, tmp_path)
    assert 'enabled: atomic_saves,mmseg_names,safe_loading,weights_only_types' in out
    assert 'refused: UnsafeCheckpointError' in out and 'LOADED' not in out
    assert not (tmp_path / 'pwned').exists()
    assert 'name resolved: True' in out


@pytest.mark.slow
@needs_mmdet
def test_a_shipped_config_turns_the_mends_on_in_an_mmdet_process(tmp_path):
    """What loads a shipped config (mmseg's init_model, mmpretrain's get_model,
    a Runner) imports its custom_imports: mmwrn.enable_host_mends."""
    config = osp.join(
        ROOT, 'configs', 'demo', 'twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96.py'
    )
    code = (
        f'MARKER = {str(tmp_path / "pwned")!r}\n'
        + PRELUDE
        + f"""
torch.save({{'state_dict': {{}}, 'meta': Payload()}}, 'crafted.pth')
from mmengine.config import Config
Config.fromfile({config!r})
from mmwrn import host_mends
print('enabled:', ','.join(host_mends.enabled()))
try:
    _load_checkpoint('crafted.pth')
except pickle.UnpicklingError as e:
    print('refused:', type(e).__name__)
"""
    )
    out = run_python(code, tmp_path)
    assert 'enabled: atomic_saves,mmseg_names,safe_loading,weights_only_types' in out
    assert 'refused: UnsafeCheckpointError' in out
    assert not (tmp_path / 'pwned').exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    'value, expected',
    [
        ('all', ('atomic_saves', 'mmseg_names', 'safe_loading', 'weights_only_types')),
        ('none', ()),
        ('atomic_saves', ('atomic_saves',)),
    ],
)
def test_environment_variable_sets_what_import_turns_on(tmp_path, value, expected):
    code = 'import mmwrn\nprint("enabled:", mmwrn.host_mends.enabled())'
    out = run_python(code, tmp_path, env={host_mends.ENV_VAR: value})
    assert f'enabled: {expected}' in out


def test_unknown_names_are_refused_with_the_valid_ones():
    with pytest.raises(
        ValueError,
        match=r"unknown host mend\(s\) \['safe'\]; valid: "
        r"\['atomic_saves', 'mmseg_names', 'safe_loading', "
        r"'weights_only_types'\], all, none",
    ):
        host_mends.from_environment('atomic_saves, safe')
    with pytest.raises(ValueError, match=r"enable: unknown host mend\(s\) \['atomic'\]"):
        host_mends.enable('atomic')
    assert host_mends.from_environment(' ALL ') == tuple(host_mends.MENDS)
    assert host_mends.from_environment('') == host_mends.defaults()


def test_every_shipped_config_imports_the_mends():
    configs = [
        p
        for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
        if '_base_' not in p and osp.join('configs', 'deploy') not in p  # mmdeploy's, no model
    ]
    assert len(configs) > 10
    for path in configs:
        imports = (
            Config.fromfile(path, import_custom_modules=False)
            .get('custom_imports', {})
            .get('imports', [])
        )
        assert 'mmwrn.enable_host_mends' in imports, (path, imports)
