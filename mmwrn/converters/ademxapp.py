"""ademxapp (the authors' MXNet code) parameter names -> mmwrn."""
import re

import torch

from .common import ConversionError

BRANCH_INDEX = {'branch2a': 1, 'branch2b1': 2, 'branch2b2': 3}
BN_PARAMS = {'gamma': 'weight', 'beta': 'bias', 'moving_mean': 'running_mean',
             'moving_var': 'running_var'}
UNIT = re.compile(r'^(res|bn)([2-7])(a|b\d+)_(branch2a|branch2b1|branch2b2|branch1)_'
                  r'(weight|gamma|beta|moving_mean|moving_var)$')
BN7 = re.compile(r'^bn7_(gamma|beta|moving_mean|moving_var)$')
LINEAR = re.compile(r'^linear(\d+)_(weight|bias)$')
CONV6A = re.compile(r'^conv6a_(weight|bias)$')


def strip_prefixes(params):
    """``arg:`` / ``aux:`` prefixes of Module.save_params (Gluon files have none)."""
    return {re.sub(r'^(arg|aux):', '', k): v for k, v in params.items()}


def kind_of(params):
    """'segmentor' (conv6a + conv classifier) or 'classifier' (FC)."""
    if 'conv1a_weight' not in params:
        raise ConversionError(
            'not an ademxapp RNA network: no conv1a_weight among its parameters '
            f'(found e.g. {sorted(params)[:5]})')
    return 'segmentor' if 'conv6a_weight' in params else 'classifier'


def _unit_target(match):
    kind, level, uid, branch, param = match.groups()
    unit = 0 if uid == 'a' else int(uid[1:])
    if branch == 'branch1':
        if kind != 'res' or param != 'weight':
            return None
        return f'backbone.b{level}.{unit}.shortcut.weight'
    index = BRANCH_INDEX[branch]
    if kind == 'res':
        return f'backbone.b{level}.{unit}.conv{index}.weight' if param == 'weight' else None
    return f'backbone.b{level}.{unit}.norm{index}.{BN_PARAMS[param]}' \
        if param in BN_PARAMS else None


def convert_ademxapp(params):
    """Map an ademxapp parameter dict ``{name: array}`` to an mmwrn state dict.

    Returns ``(state_dict, unused_names, kind)``; kind is 'classifier'
    (mmpretrain ImageClassifier: ``head.fc``) or 'segmentor' (mmseg
    EncoderDecoder: ``decode_head.conv6a`` / ``decode_head.conv_seg``)."""
    params = strip_prefixes(params)
    kind = kind_of(params)
    state, unused = {}, []
    for name, value in params.items():
        target = None
        if name == 'conv1a_weight':
            target = 'backbone.conv1a.weight'
        elif UNIT.match(name):
            target = _unit_target(UNIT.match(name))
        elif BN7.match(name):
            target = f'backbone.bn7.{BN_PARAMS[BN7.match(name).group(1)]}'
        elif LINEAR.match(name):
            param = LINEAR.match(name).group(2)
            if kind == 'classifier' and value.ndim in (1, 2):
                target = f'head.fc.{param}'
            elif kind == 'segmentor' and value.ndim in (1, 4):
                target = f'decode_head.conv_seg.{param}'
        elif CONV6A.match(name) and kind == 'segmentor':
            target = f'decode_head.conv6a.conv.{CONV6A.match(name).group(1)}'
        if target is None:
            unused.append(name)
        else:
            state[target] = torch.from_numpy(value.astype('float32'))
    return state, unused, kind


def check_ademxapp_model(model):
    """ademxapp's weights reproduce MXNet only with BN eps 1.001e-5 and, for
    Model A, unpadded max-pools: refuse a config that has neither."""
    from torch.nn.modules.batchnorm import _BatchNorm
    eps = {m.eps for m in model.modules() if isinstance(m, _BatchNorm)}
    if eps != {1.001e-5}:
        raise ConversionError(
            f'ademxapp weights need BN eps 1.001e-5 (MXNet\'s); the config builds BN with '
            f'eps {sorted(eps)}: set norm_cfg=dict(type=..., eps=1.001e-5)')
    pools = [m for m in model.modules() if isinstance(m, torch.nn.MaxPool2d) and m.stride == 2]
    if any(p.padding != 0 for p in pools):
        raise ConversionError('ademxapp\'s Model A weights need unpadded max-pools: '
                              'set the backbone\'s pool_padding=0')
