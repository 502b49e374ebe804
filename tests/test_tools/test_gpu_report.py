"""tools/analysis_tools/gpu_report.py: its CPU mode (everything the GPU run
does but the CUDA calls, at CI sizes) produces the whole report; the peak
table and the model FLOPs behind the MFU column."""

import os.path as osp
import re
import subprocess
import sys

import pytest

from tests.helpers.seg import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'analysis_tools'))
import benchmark  # noqa: E402
import gpu_report  # noqa: E402

ROW = re.compile(
    r'^\| (classifier|segmenter) \| ([^|]+?) \| (train|infer) \| 2 x 64\^2 \| ([^|]+?) '
    r'\| (none|unit|norm_act) \| ([\d.]+) \| ([\d.]+)(?: \([\d.]+-[\d.]+\))? \| ([\d.]+) '
    r'\| ([\d.]+) '
    r'\| ([\d.]+%|-) \| - \| - \|$',
    re.M,
)  # no memory processes in the CPU mode


def test_significant_digits():
    assert [gpu_report.significant(v) for v in (1234.5, 99.94, 0.04123, 0, None)] == [
        '1234',
        '99.9',
        '0.0412',
        '0',
        '-',
    ]


@pytest.mark.parametrize(
    'name,tflops',
    [
        ('NVIDIA H100 80GB HBM3', 989.4),
        ('NVIDIA H100 PCIe', 756.5),
        ('NVIDIA H200', 989.4),
        ('NVIDIA A100-SXM4-80GB', 312.0),
        ('NVIDIA A100 80GB PCIe', 312.0),
        ('NVIDIA L40S', 362.05),
        ('NVIDIA GeForce RTX 4090', 165.2),
        ('NVIDIA H100 NVL', None),  # other clocks: unknown rather than wrong
        ('NVIDIA H200 NVL', None),
        ('Tesla T4', None),
    ],
)
def test_peak_table(name, tflops):
    assert gpu_report.peak_tflops(name)[0] == tflops


def test_model_flops_of_the_real_networks():
    args = benchmark.parse_args(['cls', '--size', '224', '--device', 'cpu'])
    # conv + FC multiply-adds: the presets table (docs/en/user_guides/backbones.md)
    # 49.5 G for the backbone (+ 4.1 M for the FC); ResNet-152 11.51 G (mmpretrain's
    # metafile: 11.58 G, its counter adds the BN layers)
    assert gpu_report.model_flops_per_image('mmwrn', args) / 2e9 == pytest.approx(49.5, abs=0.06)
    assert gpu_report.model_flops_per_image('peer', args) / 2e9 == pytest.approx(11.51, abs=0.01)


@pytest.mark.slow
def test_report_cpu_mode(tmp_path):
    out = tmp_path / 'report.md'
    proc = subprocess.run(
        [
            sys.executable,
            'tools/analysis_tools/gpu_report.py',
            '--device',
            'cpu',
            '--peak-tflops',
            '0.001',
            '--out',
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    text = out.read_text()
    assert text in proc.stdout
    for line in (
        '- date: ',
        '- device: CPU',
        '- software: torch ',
        'mmwrn commit',
        '- bf16 dense peak for MFU: 0.001 TFLOP/s (--peak-tflops)',
    ):
        assert line in text
    # the cuda tests ran and were skipped, each with the reason
    m = re.search(r'## `pytest -m cuda`: (\d+) skipped \(', text)
    assert m and int(m.group(1)) >= 8, text  # tests/test_cuda has 8
    assert len(
        re.findall(
            r'^\| test_cuda/test_\w+\.py::test_\w+(\[[\w-]+\])? \| skipped: '
            r'needs a CUDA device',
            text,
            re.M,
        )
    ) == int(m.group(1))
    rows = {}
    for row in ROW.findall(text):
        model, name, mode, precision, with_cp = row[:5]
        median, ratio, ips, gflop, mfu = row[5:]
        rows[model, name, mode, with_cp] = row
        assert float(ips) == pytest.approx(2e3 / float(median), rel=0.01)  # 3 digits
        assert float(gflop) > 0
        if model == 'classifier':
            assert precision == 'bf16 autocast, channels_last'
            # MFU = images/s x model FLOPs per image / peak
            assert float(mfu[:-1]) == pytest.approx(
                100 * float(ips) * float(gflop) / 1, rel=0.02, abs=0.05
            )
        else:
            assert precision == 'fp32' and mfu == '-'
    names = {
        'classifier': ('mmwrn A1', 'plain PyTorch A1', 'ResNet-152'),
        'segmenter': ('mmwrn A1-D8', 'plain PyTorch A1-D8', 'ResNetV1c-101-D8'),
    }
    expected = {
        ('classifier', n, mode, 'none') for n in names['classifier'] for mode in ('train', 'infer')
    }
    expected |= {
        ('segmenter', n, 'train', cp) for n in names['segmenter'] for cp in ('none', 'unit')
    }
    expected |= {('segmenter', 'mmwrn A1-D8', 'train', 'norm_act')}  # mmwrn only
    assert set(rows) == expected, text
    assert 'memory not measured (--no-memory; the default on CPU)' in text
