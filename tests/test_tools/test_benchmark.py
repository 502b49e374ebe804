"""The benchmark's plain implementation computes what mmwrn computes, and the
tool runs and produces sane numbers in a CPU-sized setting (no timing asserts)."""

import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

from mmwrn.models import WiderResNet
from tests.helpers.seg import ROOT
from tests.helpers.tiny import TINY_CHANNELS

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
from benchmark import HeapPeak, heap_reader, median_ci  # noqa: E402
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


def test_median_confidence_interval():
    assert median_ci(range(1, 16)) == (4, 12)  # the binomial table's 95% interval, n=15
    assert median_ci(range(1, 101)) == (40, 61)
    assert median_ci(range(5)) is None  # 5 values cannot give 95%


def test_heap_peak_sees_a_freed_tensor():
    read = heap_reader()
    if read is None:
        pytest.skip('needs glibc >= 2.33 (mallinfo2)')
    base = read()
    with HeapPeak(read) as tracker:
        big = torch.ones(16, 2**20)  # 64 MiB
        big.add_(1)
        del big
        torch.zeros(4)
    assert tracker.peak - base >= 64 * 2**20
    assert read() - base < 16 * 2**20


@pytest.mark.slow
def test_benchmark_tool_runs():
    out = subprocess.run(
        [
            sys.executable,
            'tools/analysis_tools/benchmark.py',
            'cls',
            '--tiny',
            '--size',
            '32',
            '--batch',
            '2',
            '--repeats',
            '6',
            '--warmup',
            '1',
            '--modes',
            'train',
            '--with-cp',
            'unit',
            'norm_act',
            '--frozen-bn',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {}
    for line in out.stdout.splitlines():
        m = re.match(
            r'\| (mmwrn|plain|peer) \| (unit|norm_act) \| train \| ([\d.]+) \| '
            r'([\d.]+)% \| ([\d.]+) (?:\([\d.]+-[\d.]+\) )?\| ([\d.]+) \| (\d+) \| '
            r'(-?\d+) \| (\d+) \|',
            line,
        )
        if m:
            rows[m.group(1), m.group(2)] = [float(v) for v in m.groups()[2:]]
    # norm_act exists in mmwrn only: the others are skipped, and said so
    assert set(rows) == {
        ('mmwrn', 'unit'),
        ('plain', 'unit'),
        ('peer', 'unit'),
        ('mmwrn', 'norm_act'),
    }, out.stdout
    assert 'skipped: plain norm_act, peer norm_act' in out.stdout
    for impl, (median, _spread, _ratio, throughput, peak, step, rss) in rows.items():
        # the table rounds the median to 1 ms
        assert median > 0, impl
        assert throughput == pytest.approx(2 / median, rel=0.01 + 5e-4 / median), impl
        assert 0 < step < peak < rss, impl  # MiB: the heap in use is part of the RSS
    assert rows['mmwrn', 'unit'][2] == 1.0
    ci = re.search(
        r'\| plain \| unit \| train \| [^|]+\| [^|]+\| ([\d.]+) \(([\d.]+)-([\d.]+)\)', out.stdout
    )
    assert ci, 'no confidence interval after 6 rounds'
    assert float(ci.group(2)) <= float(ci.group(1)) <= float(ci.group(3))
    assert 'frozen_bn, tiny' in out.stdout


@pytest.mark.slow
def test_benchmark_with_cp_choices():
    out = subprocess.run(
        [
            sys.executable,
            'tools/analysis_tools/benchmark.py',
            'cls',
            '--with-cp',
            'norm_act',
            '--impls',
            'plain',
            'peer',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode != 0 and "['mmwrn'] only" in out.stderr


@pytest.mark.slow
def test_benchmark_tiny_needs_a_wider_resnet():
    config = osp.join(ROOT, 'configs', 'wrn_cifar', 'wrn-28-10-d0.3_1xb128_cifar10.py')
    out = subprocess.run(
        [
            sys.executable,
            'tools/analysis_tools/benchmark.py',
            'cls',
            '--tiny',
            '--config',
            config,
            '--no-memory',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode != 0 and '--tiny shrinks a WiderResNet backbone' in out.stderr


@pytest.mark.slow
def test_levels_benchmark_tool_runs():
    config = osp.join(
        ROOT,
        'configs',
        'wider_resnet_seg',
        'upernet_wider-resnet38-a1-b6_4xb4-80k_ade20k-512x512.py',
    )
    tiny = [
        'model.backbone.stem_channels=8',
        f'model.backbone.channels={TINY_CHANNELS}'.replace(' ', ''),
        'model.decode_head.in_channels=[8,8,16,32]',
        'model.decode_head.channels=8',
        'model.auxiliary_head.in_channels=16',
        'model.auxiliary_head.channels=8',
    ]
    out = subprocess.run(
        [
            sys.executable,
            'tools/analysis_tools/levels_benchmark.py',
            config,
            '--cfg-options',
            *tiny,
            '--macs-size',
            '64',
            '--size',
            '32',
            '--repeats',
            '6',
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    rows = {}
    for line in out.stdout.splitlines():
        m = re.match(
            r'\| (requested|\+ unused B7) \| ([\d,]+) \| [\d.]+ \| [\d.]+ \| ([\d.]+) '
            r'\| ([\d.]+) \| ([\d.]+)(?: \([\d.]+-[\d.]+\))? '
            r'\| ([\d.]+) \| ([\d.]+)(?: \([\d.]+-[\d.]+\))? \|$',
            line,
        )
        if m:
            rows[m.group(1)] = (
                int(m.group(2).replace(',', '')),
                float(m.group(3)),
                float(m.group(4)),
                float(m.group(5)),
                float(m.group(6)),
                float(m.group(7)),
            )
    assert set(rows) == {'requested', '+ unused B7'}, out.stdout
    requested, unused = rows['requested'], rows['+ unused B7']
    b7 = sum(
        p.numel()
        for n, p in WiderResNet(stem_channels=8, channels=TINY_CHANNELS).named_parameters()
        if n.startswith(('b7', 'bn7'))
    )
    assert unused[0] - requested[0] == b7
    assert requested[1] == 1.0 and unused[1] > 1.0
    # train and infer: medians, and ratios to requested (with a CI after 6 rounds)
    assert min(requested[2], unused[2], requested[4], unused[4]) > 0
    assert requested[3] == requested[5] == 1.0
    assert len(re.findall(r'\d \([\d.]+-[\d.]+\)', out.stdout)) == 2, out.stdout
