"""tools/publish_model.py: weights and meta only, sha256 prefix in the name, and
the result loads with the hosts' APIs."""

import hashlib
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import save_checkpoint

from tests.helpers.seg import ROOT
from tests.helpers.tiny import TINY_CHANNELS

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them


def test_publish_strips_training_state_and_loads(tmp_path):
    import mmpretrain

    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py')
    )
    cfg.model.backbone.update(channels=TINY_CHANNELS, stem_channels=8)
    cfg.model.head.in_channels = 64
    config = str(tmp_path / 'cls.py')
    cfg.dump(config)
    model = mmpretrain.get_model(config)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 32, 32), mode='tensor').sum().backward()
    optimizer.step()
    hub = MessageHub.get_instance('publish_test')
    hub.update_scalar('train/loss', 1.0)
    save_checkpoint(
        {
            'state_dict': model.state_dict(),
            'optimizer': optimizer.state_dict(),
            'message_hub': hub.state_dict(),
            'param_schedulers': [{'last_step': 3}],
            'meta': {'epoch': 1},
        },
        str(tmp_path / 'epoch_1.pth'),
    )

    out = subprocess.run(
        [
            sys.executable,
            'tools/publish_model.py',
            str(tmp_path / 'epoch_1.pth'),
            str(tmp_path / 'wrn.pth'),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    published = re.search(r'wrote (\S+)', out.stdout).group(1)
    name = osp.basename(published)
    assert re.fullmatch(r'wrn-[0-9a-f]{8}\.pth', name)
    sha = hashlib.sha256(open(published, 'rb').read()).hexdigest()
    assert name == f'wrn-{sha[:8]}.pth'
    assert set(torch.load(published)) == {'state_dict', 'meta'}
    assert osp.getsize(published) < osp.getsize(tmp_path / 'epoch_1.pth')
    loaded = mmpretrain.get_model(config, pretrained=published)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v)


def test_publish_refuses_non_checkpoints(tmp_path):
    torch.save({'weights': torch.zeros(1)}, tmp_path / 'x.pth')
    out = subprocess.run(
        [
            sys.executable,
            'tools/publish_model.py',
            str(tmp_path / 'x.pth'),
            str(tmp_path / 'y.pth'),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and 'not an mmengine checkpoint' in out.stderr
