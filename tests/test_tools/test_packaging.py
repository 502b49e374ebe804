"""mmwrn as users get it from a wheel (`pip install .`): configs, tools and the
model index travel in mmwrn/.mim, names resolve in both hosts and mim finds
the package, all from a directory outside the checkout."""

import glob
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

from tests.helpers.demo_data import synthetic_data
from tests.helpers.tools import copy_checkout

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BIN = osp.dirname(sys.executable)
DEMO = 'twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96'
SEG_NAME = 'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504'
CLS_NAME = 'wider-resnet16-a1_4xb64_in1k'


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """The wheel built from the checkout, unpacked as pip installs it, and a
    working directory outside the checkout."""
    tmp = tmp_path_factory.mktemp('packaging')
    src = tmp / 'src'  # build from a copy: pip builds in place
    copy_checkout(src)
    out = subprocess.run(
        [
            sys.executable,
            '-m',
            'pip',
            'wheel',
            '-q',
            '--no-deps',
            '--no-build-isolation',
            '-w',
            str(tmp / 'dist'),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    (wheel,) = glob.glob(str(tmp / 'dist' / 'mmwrn-*.whl'))
    site = tmp / 'site'
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    work = tmp / 'work'
    work.mkdir()
    env = dict(
        os.environ,
        PYTHONPATH=str(site),
        PATH=BIN + os.pathsep + os.environ['PATH'],
        PYTHONWARNINGS='ignore',
    )
    return site, work, env


def run(args, installed, **kwargs):
    site, work, env = installed
    out = subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, **kwargs)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    return out.stdout


@pytest.mark.compat
def test_wheel_carries_configs_tools_and_model_index(installed):
    site = installed[0]
    mim = site / 'mmwrn' / '.mim'
    shipped = {
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', '**', '*'), recursive=True)
        if osp.isfile(p) and '__pycache__' not in p
    }
    packed = {
        osp.relpath(p, mim)
        for p in glob.glob(str(mim / 'configs' / '**' / '*'), recursive=True)
        if osp.isfile(p)
    }
    assert shipped == packed
    assert (mim / 'model-index.yml').is_file() and (mim / 'tools' / 'train.py').is_file()
    # the demo's data writer is a tool, not part of the package
    assert (mim / 'tools' / 'demo' / 'synthetic_data.py').is_file()
    assert not (site / 'mmwrn' / 'utils' / 'synthetic_data.py').exists()
    assert not (site / 'configs').exists(), 'a top-level configs/ would shadow the hosts'


@pytest.mark.compat
def test_wheel_carries_the_license_and_the_readme(installed):
    site = installed[0]
    (dist_info,) = glob.glob(str(site / 'mmwrn-*.dist-info'))
    licenses = glob.glob(osp.join(dist_info, '**', 'LICENSE'), recursive=True)
    assert len(licenses) == 1, os.listdir(dist_info)
    with open(licenses[0]) as f:
        text = f.read()
    with open(osp.join(ROOT, 'LICENSE')) as f:
        assert text == f.read()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    with open(osp.join(dist_info, 'METADATA')) as f:
        metadata = f.read()
    assert 'License: Apache-2.0' in metadata or 'License-Expression: Apache-2.0' in metadata
    # the README is the long description (the package index's page)
    assert '## Citation' in metadata and 'Wide Residual Networks' in metadata


@pytest.mark.compat
def test_names_resolve_outside_the_checkout(installed):
    site = installed[0]
    code = f"""
import mmwrn, mmpretrain
from mmseg.apis import MMSegInferencer
assert mmwrn.__file__.startswith({str(site)!r}), mmwrn.__file__
model = mmpretrain.get_model({CLS_NAME!r})
print('cls', type(model.backbone).__name__, sum(p.numel() for p in model.parameters()))
assert {CLS_NAME!r} in mmpretrain.list_models('wider-resnet16*')
print('seg', mmwrn.get_config_path({SEG_NAME!r}))
try:
    mmpretrain.get_model({CLS_NAME!r}, pretrained=True)
except FileNotFoundError as e:
    print('hint', e)
"""
    out = run([sys.executable, '-c', code], installed)
    assert 'cls WiderResNet 63732008' in out
    assert f'seg {site}/mmwrn/.mim/configs/wider_resnet_seg/{SEG_NAME}.py' in out
    assert f'hint checkpoints/{CLS_NAME}.pth can not be found.' in out


def test_mmseg_inferencer_resolves_a_segmentation_name(installed):
    code = f"""
import mmwrn
from mmseg.apis import MMSegInferencer
mmwrn.host_mends.enable('mmseg_names')  # mmseg's lookup extended: a name, not a config path
try:
    MMSegInferencer(model={SEG_NAME!r}, device='cpu')
except FileNotFoundError as e:
    print('hint', e)
"""
    out = run([sys.executable, '-c', code], installed)
    assert 'tools/model_converters/ademxapp2mmwrn.py voc_rna-a1_cls21_s8_ep-0001.params' in out


def test_mim_search_train_and_test(installed):
    site, work, env = installed
    out = run(['mim', 'search', 'mmwrn', '--display-width', '200'], installed, input='q\n')
    for name in (CLS_NAME, SEG_NAME, 'wrn-28-10-d0.3_1xb128_cifar10'):
        assert f'config id: {name}' in out
    synthetic_data.make_voc(str(work / 'data' / 'synthvoc'), num_train=4, num_val=2, size=64)
    run(
        [
            'mim',
            'train',
            'mmwrn',
            f'{DEMO}.py',
            '--work-dir',
            'wd',
            '--cfg-options',
            'train_cfg.max_iters=2',
            'train_cfg.val_interval=2',
            'default_hooks.checkpoint.interval=2',
        ],
        installed,
        timeout=600,
    )
    assert (work / 'wd' / 'iter_2.pth').is_file()
    out = run(
        [
            'mim',
            'test',
            'mmwrn',
            f'{DEMO}.py',
            '--checkpoint',
            'wd/iter_2.pth',
            '--work-dir',
            'wd_test',
        ],
        installed,
        timeout=600,
    )
    assert 'mIoU' in out
    out = run(
        ['mim', 'run', 'mmwrn', 'publish_model', 'wd/iter_2.pth', 'published.pth'],
        installed,
        timeout=600,
    )
    assert 'wrote published-' in out


def test_link_editable_mim_refuses_a_wheel_install(installed):
    site, work, env = installed
    out = subprocess.run(
        [sys.executable, str(site / 'mmwrn' / '.mim' / 'tools' / 'link_editable_mim.py')],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    assert f'mmwrn in {site} is not an editable install' in out.stderr
    assert not (site / 'mmwrn' / '.mim' / 'mmwrn').exists()
