"""mmwrn's models as OpenMMLab users name them in configs."""
import subprocess
import sys

import pytest
import torch

import mmwrn  # noqa: F401
from tests.helpers.tiny import TINY_CHANNELS


@pytest.mark.parametrize('scope', ['mmseg', 'mmpretrain'])
@pytest.mark.parametrize('name', ['WiderResNet', 'mmwrn.WiderResNet'])
def test_backbone_builds_under_each_host_scope(scope, name):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(dict(type=name, output_stride=8, channels=TINY_CHANNELS,
                                stem_channels=8, out_indices=(3, 6)))
    assert type(model).__name__ == 'WiderResNet'
    outs = model(torch.randn(2, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [8, 64]


@pytest.mark.parametrize('scope', ['mmseg', 'mmpretrain'])
def test_wrn_builds_under_each_host_scope(scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(dict(type='WideResNet_CIFAR', depth=10, widen_factor=1))
    assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 64, 8, 8)


@pytest.mark.parametrize('scope', ['mmwrn', 'mmseg', 'mmpretrain'])
def test_wrn_first_name_still_builds_with_a_warning(scope):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with pytest.warns(FutureWarning, match="renamed 'WideResNet_CIFAR'"):
        model = registry.build(dict(type='WideResNet', depth=10, widen_factor=1, drop_rate=0.3))
    assert type(model).__name__ == 'WideResNet_CIFAR' and model.depth == 10


@pytest.mark.parametrize('depth,expected', [(38, 109_167_912), (20, 82_612_520),
                                            (16, 63_732_008)])
def test_mmpretrain_classifier_param_count(depth, expected):
    from mmpretrain.registry import MODELS
    model = MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='WiderResNet', depth=depth, variant='a1'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=4096)))
    assert sum(p.numel() for p in model.parameters()) == expected


SCRIPT = """
import torch
from {host}.registry import MODELS
from {host}.utils import register_all_modules
register_all_modules()
import sys
assert 'mmwrn' not in sys.modules
m = MODELS.build(dict(type='mmwrn.WiderResNet', depth=16,
                      channels={channels}, stem_channels=8))
print(type(m).__module__, m(torch.randn(2, 3, 32, 32))[0].shape[1])
"""


@pytest.mark.slow
@pytest.mark.parametrize('host', ['mmseg', 'mmpretrain'])
def test_scoped_name_works_without_custom_imports(host):
    out = subprocess.run(
        [sys.executable, '-c', SCRIPT.format(host=host, channels=TINY_CHANNELS)],
        capture_output=True, text=True, check=True).stdout
    assert out.split()[-2:] == ['mmwrn.models.backbones.wider_resnet', '64']
