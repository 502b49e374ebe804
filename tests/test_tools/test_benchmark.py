"""The benchmark's plain implementation computes what mmwrn computes, and the
tool runs and produces sane numbers in a CPU-sized setting (no timing asserts)."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmwrn.models import WiderResNet
from tests.conftest import TINY_CHANNELS
from tests.seg_utils import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
from plain_wider_resnet import PlainSegmenter, PlainWiderResNet  # noqa: E402


@pytest.mark.parametrize('output_stride', [32, 8])
def test_plain_implementation_has_identical_math(output_stride):
    ours = WiderResNet(output_stride=output_stride, stem_channels=8, channels=TINY_CHANNELS)
    plain = PlainWiderResNet(ours.num_units, ours.channels, 8, output_stride)
    plain.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 48, 48)
    for mode in (True, False):
        ours.train(mode), plain.train(mode)
        torch.testing.assert_close(ours(x)[0], plain(x))
    seg = PlainSegmenter(plain, num_classes=3, channels=8, dilation=2)
    assert seg(x).shape == (2, 3, 6 if output_stride == 8 else 2, 6 if output_stride == 8 else 2)


def test_benchmark_tool_runs(tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'wider_resnet_cls',
                                   'wider-resnet38-a1_4xb64_in1k.py'))
    cfg.model.backbone.update(stem_channels=8, channels=TINY_CHANNELS)
    cfg.model.head.in_channels = 64
    config = str(tmp_path / 'tiny.py')
    cfg.dump(config)
    out = subprocess.run(
        [sys.executable, 'tools/analysis_tools/benchmark.py', 'cls', '--config', config,
         '--size', '32', '--batch', '2', '--repeats', '2', '--warmup', '1',
         '--modes', 'train', '--with-cp', '--frozen-bn'],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {}
    for line in out.stdout.splitlines():
        m = re.match(r'\| (mmwrn|plain|peer) \| train \| ([\d.]+) \| ([\d.]+)% \| ([\d.]+) '
                     r'\| ([\d.]+) \| (\d+) \| (-?\d+) \| (\d+) \|', line)
        if m:
            rows[m.group(1)] = [float(v) for v in m.groups()[1:]]
    assert set(rows) == {'mmwrn', 'plain', 'peer'}, out.stdout
    median, spread, ratio, throughput, peak, step, rss = rows['mmwrn']
    assert median > 0 and ratio == 1.0 and throughput == pytest.approx(2 / median, rel=0.01)
    assert 0 < step < peak < rss  # MiB: the heap in use is part of the resident memory
    assert rows['peer'][0] > median, 'ResNet-152 is far bigger than the tiny WiderResNet'
    # ResNet-152's parameters, gradients and momentum alone take > 3 x 230 MiB
    assert rows['peer'][4] > peak + 600
    assert 'with_cp, frozen_bn' in out.stdout
