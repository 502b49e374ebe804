"""WiderResNet in place of the ResNet of an mmseg model config: the mapping of
``out_indices``, output stride and input channels that mmseg's decoders need.

ResNet stage ``s`` (0-3) corresponds to WiderResNet output ``s + 2`` (B3-B6):
the same strides at every output stride, and at the default widths the same
channels as ResNet-50/101 (256, 512, 1024, 2048). So mmseg's usual
``out_indices=(0, 1, 2, 3)`` becomes ``(2, 3, 4, 5)``, the heads keep their
``in_channels``, and B7 / ``bn7`` (index 6, 4096 channels), which no ResNet
decoder consumes, are not built. ``python tools/analysis_tools/decoder_mapping.py``
prints the mapping for every ResNet-based model of the installed mmseg.
"""

import copy
import glob
import math
import os.path as osp

# the mmseg backbones this module replaces
RESNET_TYPES = ('ResNet', 'ResNetV1c', 'ResNetV1d')
# wrappers whose forward calls the ResNet's modules instead of its forward
UNSUPPORTED = {
    'ICNet': "ICNet's backbone calls ResNet's stem, maxpool and layer1-4 directly, "
    'not the backbone it builds',
}
# ResNet stage s -> WiderResNet output index
STAGE_OFFSET = 2
BLOCK_STRIDE = 4  # ResNet's stem (stride 2) + max-pool (2) before stage 0
# ResNet strides per WiderResNet output stride (B5 / B6 de-strided as stages 2 / 3)
STRIDES = {32: (1, 2, 2, 2), 16: (1, 2, 2, 1), 8: (1, 2, 1, 1)}


def _type(cfg):
    t = cfg.get('type') if isinstance(cfg, dict) else None
    return t.rpartition('.')[2] if isinstance(t, str) else t


def find_resnet(model):
    """Where the ResNet of an mmseg model config is: ``('backbone', cfg)`` for
    ``model.backbone``, ``('backbone_cfg', cfg)`` for a wrapper backbone that
    builds it from ``backbone_cfg`` (BiSeNetV1), or None."""
    backbone = model.get('backbone')
    if _type(backbone) in RESNET_TYPES:
        return 'backbone', backbone
    if isinstance(backbone, dict) and _type(backbone.get('backbone_cfg')) in RESNET_TYPES:
        return 'backbone_cfg', backbone['backbone_cfg']
    return None


def wider_resnet_like(resnet, **kwargs):
    """The WiderResNet config that takes the place of ``resnet`` (an mmseg
    ResNet config): ``out_indices`` stage ``s`` -> ``s + 2``, the output stride
    of its ``strides``, and its ``norm_cfg``, ``norm_eval``, ``with_cp`` and
    ``frozen_stages`` (ResNet's stem ~ ``conv1a`` + B2, stage ``s`` ~ level
    B(s + 3)); ``kwargs`` (``depth``, ``variant``, ``init_cfg``, ...) are added
    and win."""
    strides = tuple(resnet.get('strides', (1, 2, 2, 2)))
    output_stride = BLOCK_STRIDE * math.prod(strides)
    if STRIDES.get(output_stride) != strides:
        raise ValueError(
            f'ResNet strides {strides} have no WiderResNet counterpart; '
            f'valid: {", ".join(map(str, STRIDES.values()))} (output stride '
            f'{", ".join(map(str, STRIDES))})'
        )
    cfg = dict(
        type='WiderResNet',
        output_stride=output_stride,
        out_indices=tuple(s + STAGE_OFFSET for s in resnet.get('out_indices', (0, 1, 2, 3))),
    )
    for key in ('norm_cfg', 'norm_eval', 'with_cp'):
        if key in resnet:
            cfg[key] = copy.deepcopy(resnet[key])
    frozen = resnet.get('frozen_stages', -1)
    if frozen >= 0:
        cfg['frozen_stages'] = frozen + 1
    cfg.update(kwargs)
    return cfg


def _feature_channels(backbone):
    """Output channels of a WiderResNet config (built on the meta device)."""
    import torch

    from mmwrn.models import WiderResNet

    args = {k: v for k, v in backbone.items() if k not in ('type', 'init_cfg', 'pretrained')}
    with torch.device('meta'):
        return WiderResNet(**args).out_channels


def _consumes(head, channels):
    """Set the input channels of a head on the backbone outputs."""
    index = head.get('in_index', -1)
    if isinstance(index, (list, tuple)):
        head['in_channels'] = [channels[i] for i in index]
    else:
        head['in_channels'] = channels[index]
    if 'c1_in_channels' in head:  # DeepLabV3+'s low-level branch takes output 0
        head['c1_in_channels'] = channels[0]


def _heads(model):
    for key in ('decode_head', 'auxiliary_head'):
        heads = model.get(key)
        for head in heads if isinstance(heads, (list, tuple)) else [heads]:
            if head:
                yield head


def swap_in_wider_resnet(model, **kwargs):
    """A copy of the mmseg model config ``model`` with WiderResNet in place of
    its ResNet (:func:`wider_resnet_like`, ``kwargs`` passed on) and the input
    channels of what consumes the backbone features set to WiderResNet's: the
    neck (all outputs) or the heads (their ``in_index``; DeepLabV3+'s
    ``c1_in_channels`` from output 0), or BiSeNetV1's context path. At the
    default widths these are ResNet-50's and nothing but the backbone changes.
    ``model.pretrained`` (ResNet weights) becomes None."""
    model = copy.deepcopy(model)
    backbone = model.get('backbone')
    if _type(backbone) in UNSUPPORTED:
        raise NotImplementedError(
            f'{_type(backbone)} cannot take WiderResNet: {UNSUPPORTED[_type(backbone)]}'
        )
    found = find_resnet(model)
    if found is None:
        raise ValueError(
            f'no {"/".join(RESNET_TYPES)} backbone in this model config '
            f'(backbone type {_type(backbone)!r})'
        )
    where, resnet = found
    wider = wider_resnet_like(resnet, **kwargs)
    channels = _feature_channels(wider)
    model['pretrained'] = None
    if where == 'backbone_cfg':
        backbone['backbone_cfg'] = wider
        _rewire_bisenetv1(model, channels)
        return model
    model['backbone'] = wider
    if model.get('neck'):
        _rewire_neck(model, channels)
    else:
        for head in _heads(model):
            _consumes(head, channels)
    return model


def _rewire_neck(model, channels):
    """The neck takes every backbone output. JPU (FastFCN) also passes the
    backbone outputs from ``start_level`` on, but the last, through to the
    heads (its fused output comes last)."""
    neck = model['neck']
    neck['in_channels'] = type(neck['in_channels'])(channels)
    if _type(neck) != 'JPU':
        return
    start = neck.get('start_level', 0)
    end = neck.get('end_level', -1)
    end = len(channels) if end == -1 else end
    passed = channels[start : end - 1]
    for head in _heads(model):
        index = head.get('in_index', -1) % (len(passed) + 1)
        if index < len(passed):
            head['in_channels'] = passed[index]


def _rewire_bisenetv1(model, channels):
    """BiSeNetV1's context path takes the outputs at strides 16 and 32
    (``context_channels[1:]``); its fusion module expects ``context_channels[1]``
    = spatial path + context channels, so the spatial path's last width
    follows; its auxiliary outputs have ``context_channels[0]`` channels."""
    backbone = model['backbone']
    if _type(backbone) != 'BiSeNetV1':
        raise NotImplementedError(
            f'{_type(backbone)} wraps a ResNet in a way mmwrn does not know how to rewire'
        )
    c16, c32 = channels[2], channels[3]
    c0 = backbone.get('context_channels', (128, 256, 512))[0]
    c0 = min(c0, c16 // 2)
    backbone['context_channels'] = (c0, c16, c32)
    spatial = list(backbone.get('spatial_channels', (64, 64, 64, 128)))
    spatial[-1] = c16 - c0
    backbone['spatial_channels'] = tuple(spatial)
    for head in _heads(model):
        if head.get('in_index', -1) in (1, 2):  # x_16_up, x_32_up of the context path
            head['in_channels'] = c0


def mmseg_resnet_models():
    """``{name: path}`` of the installed mmseg's ``_base_/models`` configs
    whose backbone is (or wraps) a ResNet, ResNetV1c or ResNetV1d."""
    import mmseg
    from mmengine.config import Config

    root = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', '_base_', 'models')
    found = {}
    for path in sorted(glob.glob(osp.join(root, '*.py'))):
        with open(path) as f:
            if 'ResNet' not in f.read():  # parsing every config takes seconds
                continue
        model = Config.fromfile(path).get('model')
        if model is None:
            continue
        backbone = model.get('backbone') or {}
        if find_resnet(model) or _type(backbone.get('backbone_cfg')) in RESNET_TYPES:
            found[osp.splitext(osp.basename(path))[0]] = path
    return found
