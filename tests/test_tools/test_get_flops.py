"""tools/analysis_tools/get_flops.py counts every shipped decoder, also those
with BN on a 1x1 image pool (DeepLabV3 / V3+), and takes --cfg-options."""

import os.path as osp
import re
import subprocess
import sys

import pytest

from tests.helpers.seg import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
from get_flops import complexity  # noqa: E402

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

SEG = osp.join(ROOT, 'configs', 'wider_resnet_seg')
CONFIGS = [
    'deeplabv3plus_wider-resnet38-a2-d8_4xb4-80k_ade20k-512x512',
    'deeplabv3plus_wider-resnet38-a1-b6-d8_4xb4-80k_ade20k-512x512',
]


def test_get_flops_of_deeplabv3plus_with_cfg_options():
    out = subprocess.run(
        [
            sys.executable,
            'tools/analysis_tools/get_flops.py',
            *[osp.join(SEG, c + '.py') for c in CONFIGS],
            '--shape',
            '64',
            '--cfg-options',
            'model.backbone.depth=16',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    for name in CONFIGS:
        m = re.search(rf'\| {name} \| ([\d.]+) \| ([\d.]+) \|', out.stdout)
        assert m, out.stdout
        params, macs = complexity(osp.join(SEG, name + '.py'), 64, {'model.backbone.depth': 16})
        assert (float(m.group(1)), float(m.group(2))) == (
            round(params / 1e6, 2),
            round(macs / 1e9, 2),
        )
        params38, _ = complexity(osp.join(SEG, name + '.py'), 64)
        assert params < params38
    # B7 (37.8M parameters) is not built in the -b6 config (its heads take 2048 channels)
    b6, b7 = (complexity(osp.join(SEG, c + '.py'), 64)[0] for c in CONFIGS[::-1])
    assert b7 - b6 > 37.7e6
