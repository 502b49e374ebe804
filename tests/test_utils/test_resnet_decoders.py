"""Every ResNet-based model of the installed mmseg (its ``_base_/models``) with
WiderResNet swapped in by ``mmwrn.utils.resnet_decoders``: trains a step and
predicts, and every parameter that trains receives a gradient."""

import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.utils import digit_version
from mmseg.registry import MODELS

import mmwrn  # noqa: F401
from mmwrn.utils.resnet_decoders import (
    UNSUPPORTED,
    mmseg_resnet_models,
    swap_in_wider_resnet,
    wider_resnet_like,
)
from tests.helpers.seg import make_batch, shrink_decoder
from tests.helpers.tiny import TINY_WIDER

MODELS_FOUND = mmseg_resnet_models()
SUPPORTED = [
    n for n, p in MODELS_FOUND.items() if Config.fromfile(p).model.backbone.type not in UNSUPPORTED
]
# parameters that mmseg itself never trains (requires_grad=False by design)
FROZEN_BY_MMSEG = {
    # EMAHead: "ema_mid_conv" is a fixed projection, frozen in its __init__
    'emanet_r50-d8': {'decode_head.ema_mid_conv.conv.weight', 'decode_head.ema_mid_conv.conv.bias'},
}
# mmseg 1.2.2's DNLHead subtracts means in place from views autograd needs;
# torch < 2.2 refuses its backward with every backbone (mmsegmentation#3073)
HOST_BROKEN = {
    'dnl_r50-d8': digit_version(torch.__version__) < digit_version('2.2.0'),
}
SIZE = 32


def test_discovery_finds_mmseg_resnet_models():
    # mmseg 1.2.2 has 23; ICNet is the one that cannot take another backbone
    assert {
        'upernet_r50',
        'deeplabv3plus_r50-d8',
        'pspnet_r50-d8',
        'fpn_r50',
        'bisenetv1_r18-d32',
        'icnet_r50-d8',
    } <= set(MODELS_FOUND)
    assert len(MODELS_FOUND) >= 23
    assert set(MODELS_FOUND) - set(SUPPORTED) == {'icnet_r50-d8'}


def test_icnet_is_unsupported_with_the_reason():
    model = Config.fromfile(MODELS_FOUND['icnet_r50-d8']).model
    with pytest.raises(NotImplementedError, match='stem, maxpool and layer1-4'):
        swap_in_wider_resnet(model)


@pytest.mark.parametrize('name', SUPPORTED)
def test_default_widths_keep_mmseg_heads(name):
    """ResNet stage s -> index s + 2: at WiderResNet's default widths the heads
    (and necks) consume what they consumed from ResNet-50."""
    model = Config.fromfile(MODELS_FOUND[name]).model
    swapped = swap_in_wider_resnet(model)
    resnet = model.backbone.get('backbone_cfg', model.backbone)
    wider = swapped.backbone.get('backbone_cfg', swapped.backbone)
    assert wider['out_indices'] == tuple(s + 2 for s in resnet.out_indices)
    assert wider['output_stride'] == 4 * math.prod(resnet.strides)
    assert swapped.get('pretrained') is None
    for key in ('neck', 'decode_head', 'auxiliary_head'):
        assert swapped.get(key) == model.get(key), key
    if 'backbone_cfg' not in model.backbone:
        assert 6 not in wider['out_indices']


@pytest.mark.parametrize(
    'name',
    [
        pytest.param(
            n,
            marks=pytest.mark.xfail(
                HOST_BROKEN.get(n, False),
                reason='mmseg DNLHead backward needs torch >= 2.2 (mmsegmentation#3073)',
                raises=RuntimeError,
                strict=True,
            ),
        )
        for n in SUPPORTED
    ],
)
def test_trains_and_predicts_with_every_parameter_trained(name):
    init_default_scope('mmseg')
    cfg = Config.fromfile(MODELS_FOUND[name]).model
    cfg = swap_in_wider_resnet(shrink_decoder(cfg), **TINY_WIDER)
    cfg.data_preprocessor.size = (SIZE, SIZE)
    model = revert_sync_batchnorm(MODELS.build(cfg))  # one process: plain BN
    heads = cfg.decode_head if isinstance(cfg.decode_head, list) else [cfg.decode_head]
    num_classes = heads[-1].num_classes
    data = model.data_preprocessor(make_batch(num_classes, size=SIZE), training=True)

    model.train()
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == FROZEN_BY_MMSEG.get(name, set())
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not no_grad, f'parameters without gradient: {no_grad}'
    assert not any(
        n.startswith(('backbone.b7', 'backbone.bn7')) for n, _ in model.named_parameters()
    ), 'B7 built though no decoder takes it'

    model.eval()
    with torch.no_grad():
        preds = model(data['inputs'], data['data_samples'], mode='predict')
    assert preds[0].pred_sem_seg.data.shape == (1, SIZE, SIZE)
    assert preds[0].seg_logits.data.shape == (num_classes, SIZE, SIZE)


@pytest.mark.parametrize(
    'resnet,expected',
    [
        (
            dict(type='ResNetV1c', out_indices=(0, 1, 2, 3), strides=(1, 2, 1, 1)),
            dict(out_indices=(2, 3, 4, 5), output_stride=8),
        ),
        (
            dict(
                type='ResNetV1c',
                out_indices=(1, 2, 3),
                strides=(1, 2, 2, 1),
                frozen_stages=1,
                norm_eval=True,
            ),
            dict(out_indices=(3, 4, 5), output_stride=16, frozen_stages=2, norm_eval=True),
        ),
        (
            dict(type='ResNet', norm_cfg=dict(type='SyncBN')),
            dict(out_indices=(2, 3, 4, 5), output_stride=32, norm_cfg=dict(type='SyncBN')),
        ),
    ],
)
def test_wider_resnet_like(resnet, expected):
    assert wider_resnet_like(resnet) == dict(type='WiderResNet', **expected)
    assert wider_resnet_like(resnet, depth=16)['depth'] == 16


def test_strides_without_counterpart_are_refused():
    with pytest.raises(ValueError, match=r'\(1, 2, 2, 2\)'):
        wider_resnet_like(dict(type='ResNet', strides=(1, 1, 2, 2)))


def test_docs_table_is_the_mapping():
    """The decoder table of the segmentation guide is what
    tools/analysis_tools/decoder_mapping.py prints for the installed mmseg."""
    import sys

    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    sys.path.insert(0, osp.join(root, 'tools', 'analysis_tools'))
    from decoder_mapping import mapping_table

    with open(osp.join(root, 'docs', 'en', 'user_guides', 'segmentation.md')) as f:
        page = f.read()
    assert mapping_table() in page
