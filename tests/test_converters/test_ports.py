"""IABN / NV / PSA checkpoints -> mmwrn. The fixtures are state dicts in each
port's naming, and the reference is an independent functional forward written
from each port's block semantics (stride, dilation, activation, pooling)."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from tests.seg_utils import ROOT

UNITS = (1, 2, 1, 2, 1, 1)
# every level changes width, so the first unit of each has a projection in all ports
CHANNELS = ((8, 8), (16, 16), (24, 24), (24, 32), (24, 32, 64), (32, 64, 128))
STEM = 4


class Source:
    """Random parameters in a port's naming, and lookups by (level, unit, part)."""

    def __init__(self, fmt, seed=0):
        self.fmt, self.sd = fmt, {}
        self.g = torch.Generator().manual_seed(seed)

    def rand(self, *shape, scale=1.0):
        return torch.randn(*shape, generator=self.g) * scale

    def bn_names(self, prefix):
        sep = '.0.' if self.fmt == 'nv' else '.'
        return {p: f'{prefix}{sep}{p}' for p in ('weight', 'bias', 'running_mean',
                                                 'running_var')}

    def add_bn(self, prefix, ch):
        names = self.bn_names(prefix)
        self.sd[names['weight']] = 1 + 0.2 * self.rand(ch)
        self.sd[names['bias']] = 0.1 * self.rand(ch)
        self.sd[names['running_mean']] = 0.1 * self.rand(ch)
        self.sd[names['running_var']] = 1 + 0.2 * self.rand(ch).abs()

    def add_conv(self, name, cout, cin, k):
        self.sd[name] = self.rand(cout, cin, k, k, scale=(2 / (cin * k * k))**0.5)

    def unit_prefix(self, level, unit):
        if self.fmt == 'psa':
            return f'b{level}' + (f'_{unit}' if unit else '')
        return f'mod{level}.block{unit + 1}'

    def part(self, level, unit, kind, index):
        """Name of conv / bn ``index`` (1-3) or the projection (index 0)."""
        p = self.unit_prefix(level, unit)
        branch = {1: 'branch2a', 2: 'branch2b1', 3: 'branch2b2'}
        if self.fmt == 'psa':
            return f'{p}.conv_branch1.weight' if index == 0 else f'{p}.{kind}_{branch[index]}'
        if index == 0:
            return f'{p}.proj_conv.weight'
        if kind == 'bn':
            return f'{p}.bn1' if index == 1 else f'{p}.convs.bn{index}'
        return f'{p}.convs.conv{index}'

    def stem(self):
        return 'conv1a.weight' if self.fmt == 'psa' else 'mod1.conv1.weight'

    def final_bn(self):
        return 'bn7' if self.fmt == 'psa' else 'bn_out'

    def build(self, classes=0):
        self.add_conv(self.stem(), STEM, 3, 3)
        cin = STEM
        for level, n, chans in zip(range(2, 8), UNITS, CHANNELS):
            kernels = (3, 3) if len(chans) == 2 else (1, 3, 1)
            for u in range(n):
                c = cin if u == 0 else chans[-1]
                prev = c
                for i, (ch, k) in enumerate(zip(chans, kernels), 1):
                    self.add_bn(self.part(level, u, 'bn', i), prev)
                    self.add_conv(self.part(level, u, 'conv', i) + '.weight', ch, prev, k)
                    prev = ch
                if u == 0:
                    self.add_conv(self.part(level, u, 'conv', 0), chans[-1], c, 1)
            cin = chans[-1]
        self.add_bn(self.final_bn(), cin)
        if classes:
            self.sd['classifier.fc.weight'] = self.rand(classes, cin, scale=0.1)
            self.sd['classifier.fc.bias'] = self.rand(classes, scale=0.1)
        return self

    def bn_act(self, x, prefix, act):
        n = self.bn_names(prefix)
        x = F.batch_norm(x, self.sd[n['running_mean']], self.sd[n['running_var']],
                         self.sd[n['weight']], self.sd[n['bias']], False, 0.0, 1e-5)
        return act(x)

    def forward(self, x, pools, strides, dilations, act, pool_padding=1):
        """pools / strides: per level 2-7; dilations[level][unit] = per conv;
        ``strides`` says which conv of a unit carries it ('first' or '3x3')."""
        sd = self.sd
        x = F.conv2d(x, sd[self.stem()], padding=1)
        for li, (level, n, chans) in enumerate(zip(range(2, 8), UNITS, CHANNELS)):
            if pools[li]:
                x = F.max_pool2d(x, 3, 2, pool_padding)
            kernels = (3, 3) if len(chans) == 2 else (1, 3, 1)
            for u in range(n):
                stride = strides[li] if u == 0 else 1
                pre = self.bn_act(x, self.part(level, u, 'bn', 1), act)
                short = F.conv2d(pre, sd[self.part(level, u, 'conv', 0)], stride=stride) \
                    if u == 0 else x
                out = pre
                for i, k in enumerate(kernels, 1):
                    if i > 1:
                        out = self.bn_act(out, self.part(level, u, 'bn', i), act)
                    # IABN strides the 3x3 of a bottleneck; ademxapp / PSA the first conv
                    bottleneck_3x3 = len(kernels) == 3 and self.stride_on == '3x3'
                    carries = i == (2 if bottleneck_3x3 else 1)
                    d = dilations[li][u][i - 1]
                    out = F.conv2d(out, sd[self.part(level, u, 'conv', i) + '.weight'],
                                   stride=stride if carries else 1,
                                   padding=d * (k - 1) // 2, dilation=d)
                x = out + short
        return self.bn_act(x, self.final_bn(), act)


def checkpoint_file(tmp_path, source, wrap):
    sd = {('module.' + k if wrap else k): v for k, v in source.sd.items()}
    path = tmp_path / f'{source.fmt}.pth'
    torch.save({'state_dict': sd} if wrap else sd, path)
    return str(path)


def run_converter(src, dst, config, *extra):
    return subprocess.run([sys.executable, 'tools/model_converters/port2mmwrn.py', src, str(dst),
                           '--config', config, *extra], cwd=ROOT, capture_output=True, text=True)


def backbone_config(tmp_path, **backbone):
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'wider_resnet_seg',
                                   'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py'))
    cfg.model.backbone.update(depth=None, num_units=UNITS, channels=CHANNELS, stem_channels=STEM,
                              norm_cfg=dict(type='BN'), init_cfg=None, **backbone)
    cfg.model.decode_head.update(in_channels=128, channels=16, num_classes=5)
    path = str(tmp_path / 'config.py')
    cfg.dump(path)
    return path


def ones(level_dils):
    return [[(d, ) * len(c) for _ in range(n)] for d, n, c in zip(level_dils, UNITS, CHANNELS)]


def test_iabn_classifier(tmp_path):
    """IABN's Model A classifier (pools with padding 1, leaky ReLU 0.01)."""
    import mmpretrain
    src = Source('iabn').build(classes=10)
    src.stride_on = '3x3'
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'wider_resnet_cls',
                                   'wider-resnet38-a_4xb64_in1k.py'))
    cfg.model.backbone.update(depth=None, num_units=UNITS, channels=CHANNELS,
                              stem_channels=STEM, pool_padding=1, norm_cfg=dict(type='BN'),
                              act_cfg=dict(type='LeakyReLU', negative_slope=0.01))
    cfg.model.head.update(num_classes=10, in_channels=128)
    config = str(tmp_path / 'cls.py')
    cfg.dump(config)
    out = run_converter(checkpoint_file(tmp_path, src, wrap=True), tmp_path / 'out.pth', config)
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'iabn format' in out.stdout and 'missing' not in out.stdout
    model = mmpretrain.get_model(config, pretrained=str(tmp_path / 'out.pth')).eval()
    x = torch.randn(2, 3, 64, 64)
    act = lambda t: F.leaky_relu(t, 0.01)  # noqa: E731
    feats = src.forward(x, pools=[True] * 5 + [False], strides=[1] * 6,
                        dilations=ones([1] * 6), act=act)
    ref = F.linear(feats.mean((2, 3)), src.sd['classifier.fc.weight'],
                   src.sd['classifier.fc.bias'])
    with torch.no_grad():
        torch.testing.assert_close(model(x, mode='tensor'), ref, rtol=1e-4, atol=1e-4)


def test_nv_a2_dilated_backbone(tmp_path):
    """NV's names (bn1.0) on A2 at output stride 8 with the IABN dilation rule."""
    src = Source('nv').build()
    src.stride_on = '3x3'
    config = backbone_config(tmp_path, variant='a2', output_stride=8, dilation_rule='iabn')
    out = run_converter(checkpoint_file(tmp_path, src, wrap=True), tmp_path / 'out.pth', config)
    assert out.returncode == 0, out.stdout + out.stderr
    assert 'nv format' in out.stdout and 'decode_head.conv6a.conv.weight' in out.stdout
    _compare_backbone(tmp_path, config, src, pools=[True, True, False, False, False, False],
                      strides=[1, 1, 2, 1, 1, 1], dilations=ones([1, 1, 1, 2, 4, 4]),
                      act=F.relu)


def test_psa_backbone(tmp_path):
    """PSA's resnet38d: A1 at output stride 8, ademxapp's dilation rule."""
    src = Source('psa').build()
    src.stride_on = 'first'
    config = backbone_config(tmp_path, variant='a1', output_stride=8)
    out = run_converter(checkpoint_file(tmp_path, src, wrap=False), tmp_path / 'out.pth', config)
    assert out.returncode == 0, out.stdout + out.stderr
    dils = ones([1, 1, 1, 2, 4, 4])
    dils[3][0] = (1, 2)  # B5's first unit keeps dilation 1 on its first conv
    _compare_backbone(tmp_path, config, src, pools=[False] * 6, strides=[2, 2, 2, 1, 1, 1],
                      dilations=dils, act=F.relu)


def _compare_backbone(tmp_path, config, src, **ref_args):
    from mmseg.apis import init_model
    model = init_model(config, str(tmp_path / 'out.pth'), device='cpu')
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        ours = model.backbone(x)[-1]
    torch.testing.assert_close(ours, src.forward(x, **ref_args), rtol=1e-4, atol=1e-4)


def test_port_converter_refuses_wrong_files(tmp_path):
    config = backbone_config(tmp_path)
    params = osp.join(ROOT, 'tests', 'data', 'ademxapp', 'rna-a1_cls10.params')
    out = run_converter(params, tmp_path / 'x.pth', config)
    assert out.returncode != 0 and 'is not a PyTorch checkpoint' in out.stderr
    torch.save({'state_dict': {'encoder.weight': torch.zeros(2)}}, tmp_path / 'other.pth')
    out = run_converter(str(tmp_path / 'other.pth'), tmp_path / 'x.pth', config)
    assert out.returncode != 0 and 'not an IABN / NV / PSA' in out.stderr
    src = Source('psa').build()
    out = run_converter(checkpoint_file(tmp_path, src, wrap=False), tmp_path / 'x.pth', config,
                        '--format', 'iabn')
    assert out.returncode != 0 and 'no stem conv' in out.stderr
