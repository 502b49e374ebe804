"""A crafted checkpoint runs no code on any path mmwrn's tools read
checkpoints through (``tools/test.py``'s checkpoint, ``tools/train.py``'s
``load_from``, ``tools/demo/image_demo.py``), on every supported torch: the tools
turn the ``safe_loading`` host mend on (mmwrn.host_mends), and so does every
shipped config (``custom_imports``); a config of the user's that imports only
``mmwrn`` is protected by the tool alone. Run as a user runs them: a subprocess
from a working directory holding the demo data."""

import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers.demo_data import synthetic_data

pytestmark = pytest.mark.slow  # subprocesses: the tools run as a user runs them

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(
    ROOT, 'configs', 'demo', 'twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96.py'
)
IMAGES = 'data/synthvoc/VOCdevkit/VOC2012/JPEGImages'  # what make_voc writes


class _Payload:
    """Unpickling it creates the folder ``path``."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (self.path,))


@pytest.fixture(scope='module')
def work(tmp_path_factory):
    work = tmp_path_factory.mktemp('crafted')
    synthetic_data.make_voc(str(work / 'data' / 'synthvoc'), num_train=2, num_val=1, size=64)
    torch.save({'state_dict': {}, 'meta': _Payload(str(work / 'pwned'))}, work / 'crafted.pth')
    # a user's config: the demo's, importing only mmwrn (no mends from the config)
    (work / 'user.py').write_text(
        f"_base_ = [{DEMO!r}]\ncustom_imports = dict(imports=['mmwrn'])\n"
    )
    return work


@pytest.mark.compat
@pytest.mark.parametrize('config', ['shipped', 'user'])
@pytest.mark.parametrize(
    'tool, args',
    [
        ('tools/test.py', ['crafted.pth', '--work-dir', 'wd_test']),
        (
            'tools/train.py',
            [
                '--work-dir',
                'wd_train',
                '--cfg-options',
                'load_from=crafted.pth',
                'train_cfg.max_iters=1',
            ],
        ),
        ('tools/demo/image_demo.py', ['crafted.pth', IMAGES, '--out-dir', 'out']),
    ],
)
def test_tools_refuse_a_crafted_checkpoint_without_running_it(work, tool, args, config):
    env = dict(os.environ, PYTHONWARNINGS='ignore', PYTHONPATH=ROOT)
    config = DEMO if config == 'shipped' else 'user.py'
    out = subprocess.run(
        [sys.executable, osp.join(ROOT, tool), config, *args],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    text = out.stdout + out.stderr
    assert out.returncode != 0, text[-3000:]
    assert 'refused to load' in text and 'crafted.pth' in text, text[-3000:]
    assert not (work / 'pwned').exists(), 'the checkpoint ran code'
