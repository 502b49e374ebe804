"""mim with an editable install (tools/install.sh's ``pip install -e``):
tools/link_editable_mim.py gives it the layout ``mim`` reads, so that the
README's mim commands work there as from a wheel; ``pip uninstall`` removes
the link. Made the user's way: a fresh virtual environment (the host stack
reached through a .pth file), ``pip install -e`` of a copy of the checkout,
``mim`` run from a directory outside it."""

import os
import os.path as osp
import subprocess
import sys
import sysconfig

import pytest

from tests.helpers.demo_data import synthetic_data
from tests.helpers.tools import copy_checkout

pytestmark = pytest.mark.slow  # subprocesses: a fresh editable install and mim

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = 'twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96'
SEG_NAME = 'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504'


@pytest.fixture(scope='module')
def editable(tmp_path_factory):
    """A venv with mmwrn installed editable from a copy of the checkout (not
    yet linked), and a working directory outside the checkout."""
    tmp = tmp_path_factory.mktemp('editable')
    src = tmp / 'src'
    copy_checkout(src)
    venv = tmp / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    site = subprocess.run(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # the host stack (torch, mmcv, mmseg, mim, pip, setuptools) of this interpreter, seen
    # through a folder of links that leaves out this interpreter's own mmwrn (tools/install.sh
    # links it into site-packages), so that only the editable install made below provides it
    host = tmp / 'host_stack'
    host.mkdir()
    purelib = sysconfig.get_paths()['purelib']
    for name in os.listdir(purelib):
        if not name.lower().startswith(('mmwrn', '__editable__')):
            os.symlink(osp.join(purelib, name), host / name)
    with open(osp.join(site, 'host_stack.pth'), 'w') as f:
        f.write(str(host) + '\n')
    work = tmp / 'work'
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env['PYTHONWARNINGS'] = 'ignore'
    out = subprocess.run(
        [python, '-m', 'pip', 'install', '-q', '--no-deps', '--no-build-isolation', '-e', str(src)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return dict(python=python, site=site, src=src, work=work, env=env)


def run(args, editable, ok=True, **kwargs):
    out = subprocess.run(
        args, cwd=editable['work'], env=editable['env'], capture_output=True, text=True, **kwargs
    )
    if ok:
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    return out


def mim(editable, *args, **kwargs):
    return run([editable['python'], '-m', 'mim', *args], editable, **kwargs)


def link(editable):
    return run(
        [editable['python'], str(editable['src'] / 'tools' / 'link_editable_mim.py')], editable
    ).stdout


def test_mim_search_needs_the_link_and_names_resolve_in_the_checkout(editable):
    out = mim(editable, 'search', 'mmwrn', ok=False)
    assert out.returncode != 0
    assert f'{editable["site"]}/mmwrn/model-index.yml' in out.stdout + out.stderr
    assert 'mim: linked:' in link(editable)
    assert 'mim: already linked:' in link(editable)
    assert os.readlink(osp.join(editable['site'], 'mmwrn')) == str(editable['src'] / 'mmwrn')
    assert os.readlink(editable['src'] / 'mmwrn' / '.mim' / 'configs') == '../../configs'
    out = mim(editable, 'search', 'mmwrn', '--display-width', '200', input='q\n').stdout
    for name in (SEG_NAME, 'wider-resnet16-a1_4xb64_in1k', 'wrn-28-10-d0.3_1xb128_cifar10'):
        assert f'config id: {name}' in out
    # mmwrn itself: the checkout's files and folders, not the links' paths
    code = (
        'import os.path as osp, mmwrn\n'
        'print(osp.realpath(mmwrn.__file__)); print(mmwrn.model_zoo.mim_root())\n'
        f'print(mmwrn.get_config_path({SEG_NAME!r}))'
    )
    lines = run([editable['python'], '-c', code], editable).stdout.split()
    src = str(editable['src'])
    assert lines[-3:] == [
        f'{src}/mmwrn/__init__.py',
        src,
        f'{src}/configs/wider_resnet_seg/{SEG_NAME}.py',
    ]
    # git ignores the links the tool makes in a checkout
    if osp.exists(osp.join(ROOT, '.git')):
        links = ['mmwrn/.mim/configs', 'mmwrn/.mim/tools', 'mmwrn/.mim/model-index.yml']
        ignored = subprocess.run(
            ['git', '-C', ROOT, 'check-ignore', *links], capture_output=True, text=True
        )
        assert ignored.stdout.split() == links, ignored.stdout + ignored.stderr


def test_mim_train_test_and_run(editable):
    link(editable)
    work = editable['work']
    synthetic_data.make_voc(str(work / 'data' / 'synthvoc'), num_train=4, num_val=2, size=64)
    out = mim(
        editable,
        'train',
        'mmwrn',
        f'{DEMO}.py',
        '--work-dir',
        'wd',
        '--cfg-options',
        'train_cfg.max_iters=2',
        'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2',
        timeout=600,
    ).stdout
    # the config and the tool are the checkout's own
    assert f'will use {editable["src"]}/configs/demo/{DEMO}.py instead' in out
    assert (work / 'wd' / 'iter_2.pth').is_file()
    out = mim(
        editable,
        'test',
        'mmwrn',
        f'{DEMO}.py',
        '--checkpoint',
        'wd/iter_2.pth',
        '--work-dir',
        'wd_test',
        timeout=600,
    ).stdout
    assert 'mIoU' in out
    out = mim(
        editable, 'run', 'mmwrn', 'publish_model', 'wd/iter_2.pth', 'published.pth', timeout=600
    ).stdout
    assert 'wrote published-' in out
    assert len(list(work.glob('published-*.pth'))) == 1


def test_pip_uninstall_removes_the_link_and_keeps_the_checkout(editable):
    link(editable)
    run([editable['python'], '-m', 'pip', 'uninstall', '-y', 'mmwrn'], editable)
    assert not osp.lexists(osp.join(editable['site'], 'mmwrn'))
    assert (editable['src'] / 'mmwrn' / '__init__.py').is_file()
    assert (editable['src'] / 'configs' / 'demo' / f'{DEMO}.py').is_file()
    out = run([editable['python'], '-c', 'import mmwrn'], editable, ok=False)
    assert 'No module named' in out.stderr
