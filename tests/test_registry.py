"""mmwrn's models as OpenMMLab users name them in configs."""

import subprocess
import sys

import pytest
import torch

import mmwrn  # noqa: F401
from tests.helpers.det import MMDET_MISSING, needs_mmdet
from tests.helpers.tiny import TINY_CHANNELS

# mmdet is optional: its scope is tested where it is installed
SCOPES = [
    'mmseg',
    'mmpretrain',
    pytest.param('mmdet', marks=pytest.mark.skipif(bool(MMDET_MISSING), reason=MMDET_MISSING)),
]


@pytest.mark.parametrize('scope', SCOPES)
@pytest.mark.parametrize('name', ['WiderResNet', 'mmwrn.WiderResNet'])
def test_backbone_builds_under_each_host_scope(scope, name):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(
        dict(
            type=name, output_stride=8, channels=TINY_CHANNELS, stem_channels=8, out_indices=(3, 6)
        )
    )
    assert type(model).__name__ == 'WiderResNet'
    outs = model(torch.randn(2, 3, 32, 32))
    assert [o.shape[1] for o in outs] == [8, 64]


@pytest.mark.parametrize('scope', SCOPES)
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


@pytest.mark.parametrize('depth,expected', [(38, 109_167_912), (20, 82_612_520), (16, 63_732_008)])
def test_mmpretrain_classifier_param_count(depth, expected):
    from mmpretrain.registry import MODELS

    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='WiderResNet', depth=depth, variant='a1'),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=1000, in_channels=4096),
        )
    )
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
@pytest.mark.parametrize('host', SCOPES)
def test_scoped_name_works_without_custom_imports(host):
    out = subprocess.run(
        [sys.executable, '-c', SCRIPT.format(host=host, channels=TINY_CHANNELS)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split()[-2:] == ['mmwrn.models.backbones.wider_resnet', '64']


# what a user's mmdet config does: default_scope mmdet, mmwrn through custom_imports
DET_USER_SCRIPT = """
import sys
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet.registry import MODELS
cfg = Config(dict(default_scope='mmdet', custom_imports=dict(imports=['mmwrn'])))
assert 'mmwrn' not in sys.modules
cfg = Config.fromstring(cfg.pretty_text, '.py')  # as Config.fromfile: imports mmwrn
assert 'mmwrn' in sys.modules
init_default_scope(cfg.default_scope)
m = MODELS.build(dict(type='WiderResNet', depth=16, channels={channels}, stem_channels=8,
                      out_indices=(2, 3, 4, 5), frozen_stages=2, norm_eval=True))
print(type(m).__module__, [o.shape[1] for o in m(torch.randn(1, 3, 64, 64))])
"""


@needs_mmdet
def test_unscoped_name_under_mmdet_scope_with_custom_imports():
    out = subprocess.run(
        [sys.executable, '-c', DET_USER_SCRIPT.format(channels=TINY_CHANNELS)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split('\n')[-2] == ('mmwrn.models.backbones.wider_resnet [8, 8, 16, 32]')


WITHOUT_MMDET = """
import sys
sys.modules['mmdet'] = None  # as if mmdet were not installed
import torch
import mmwrn
from mmseg.registry import MODELS
m = MODELS.build(dict(type='WiderResNet', depth=16, channels={channels}, stem_channels=8))
from mmwrn.registry import _unusable
print(_unusable, m(torch.randn(2, 3, 32, 32))[0].shape[1])
"""


def test_mmwrn_imports_and_registers_without_mmdet():
    out = subprocess.run(
        [sys.executable, '-c', WITHOUT_MMDET.format(channels=TINY_CHANNELS)],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split('\n')[-2] == "{'mmdet': 'not installed'} 64"
    assert 'mmdet' not in out.stderr, 'an absent optional host is no warning'


def test_optional_host_that_does_not_import_is_skipped_with_one_warning(tmp_path, monkeypatch):
    from mmwrn import registry

    package = tmp_path / 'brokenhost'
    package.mkdir()
    (package / '__init__.py').write_text(
        "raise AssertionError('MMCV==9.9 is used but incompatible')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, 'HOSTS', registry.HOSTS + ('brokenhost',))
    monkeypatch.setattr(registry, '_unusable', {})
    logged = []
    monkeypatch.setattr(registry, 'print_log', lambda msg, *a, **k: logged.append(msg))
    assert registry.host_registry_module('brokenhost') is None
    assert registry.host_registry_module('brokenhost') is None  # warned once
    assert len(logged) == 1
    assert 'brokenhost is installed but does not import' in logged[0]
    assert 'MMCV==9.9 is used but incompatible' in logged[0]
    # a class still registers in mmwrn and in the other hosts
    cls = type('ProbeBackbone', (torch.nn.Module,), {})
    registry.register_model(cls, hosts=('mmseg', 'brokenhost'))
    from mmseg.registry import MODELS

    assert MODELS.get('ProbeBackbone') is cls and registry.MODELS.get('ProbeBackbone') is cls
    MODELS._module_dict.pop('ProbeBackbone')
    registry.MODELS._module_dict.pop('ProbeBackbone')


def test_unknown_host_is_refused_with_the_valid_ones():
    from mmwrn.registry import register_model

    with pytest.raises(
        ValueError,
        match=r"unknown host registries \['mmdett'\]; valid: "
        r"\('mmseg', 'mmpretrain', 'mmdet'\)",
    ):
        register_model(hosts=('mmdett',))
