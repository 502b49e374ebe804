"""ademxapp (the authors' MXNet code) parameter names -> mmwrn."""

import os.path as osp
import re

import torch

from .common import ConversionError

BRANCH_INDEX = {'branch2a': 1, 'branch2b1': 2, 'branch2b2': 3}
BN_PARAMS = {
    'gamma': 'weight',
    'beta': 'bias',
    'moving_mean': 'running_mean',
    'moving_var': 'running_var',
}
UNIT = re.compile(
    r'^(res|bn)([2-7])(a|b\d+)_(branch2a|branch2b1|branch2b2|branch1)_'
    r'(weight|gamma|beta|moving_mean|moving_var)$'
)
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
            f'(found e.g. {sorted(params)[:5]})'
        )
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
    return (
        f'backbone.b{level}.{unit}.norm{index}.{BN_PARAMS[param]}' if param in BN_PARAMS else None
    )


def ademxapp_target(name, kind, ndim):
    """The mmwrn name of ademxapp parameter ``name`` (of ``ndim`` dimensions)
    in a file of ``kind``; None if it has none."""
    if name == 'conv1a_weight':
        return 'backbone.conv1a.weight'
    if UNIT.match(name):
        return _unit_target(UNIT.match(name))
    if BN7.match(name):
        return f'backbone.bn7.{BN_PARAMS[BN7.match(name).group(1)]}'
    if LINEAR.match(name):
        param = LINEAR.match(name).group(2)
        if kind == 'classifier' and ndim in (1, 2):
            return f'head.fc.{param}'
        if kind == 'segmentor' and ndim in (1, 4):
            return f'decode_head.conv_seg.{param}'
    if CONV6A.match(name) and kind == 'segmentor':
        return f'decode_head.conv6a.conv.{CONV6A.match(name).group(1)}'
    return None


def convert_ademxapp(params):
    """Map an ademxapp parameter dict ``{name: array}`` to an mmwrn state dict.

    Returns ``(state_dict, unused_names, kind)``; kind is 'classifier'
    (mmpretrain ImageClassifier: ``head.fc``) or 'segmentor' (mmseg
    EncoderDecoder: ``decode_head.conv6a`` / ``decode_head.conv_seg``)."""
    params = strip_prefixes(params)
    kind = kind_of(params)
    state, unused = {}, []
    for name, value in params.items():
        target = ademxapp_target(name, kind, value.ndim)
        if target is None:
            unused.append(name)
        else:
            state[target] = torch.from_numpy(value.astype('float32'))
    return state, unused, kind


FILE_ARCH = re.compile(r'rna-(a1?)_')


def identify_ademxapp(filename, kind, arch=None):
    """The ``architecture.SOURCES`` key of an ademxapp file. Model A and A1
    have the same parameters, so the classifier's variant comes from what the
    file is: its published name (``..._rna-a_cls1000...`` / ``..._rna-a1_...``)
    or ``arch``. ademxapp's segmenters are all A1 (``fcrna_model_a1``)."""
    if arch not in (None, 'a', 'a1'):
        raise ConversionError(f'--arch {arch} is not an ademxapp network; valid: a, a1')
    m = FILE_ARCH.search(osp.basename(filename))
    named = m.group(1) if m else None
    if kind == 'segmentor':
        if 'a' in (arch, named):
            raise ConversionError(
                "ademxapp's segmenters are Model A1 (fcrna_model_a1); "
                'this file has a segmentation head, so it cannot be Model A'
            )
        return 'ademxapp-a1'
    if named and arch and named != arch:
        raise ConversionError(
            f'--arch {arch} contradicts the file name {osp.basename(filename)} '
            f'(Model {named.upper()}); rename the file if it is not what its '
            'name says'
        )
    arch = arch or named
    if arch is None:
        raise ConversionError(
            f'cannot tell whether {osp.basename(filename)} is Model A or A1: they have the same '
            "parameters, and the name is not one of ademxapp's (ilsvrc-cls_rna-a_cls1000_... / "
            'ilsvrc-cls_rna-a1_cls1000_...). Give --arch a (max-pools) or --arch a1 (strided '
            'units).'
        )
    return f'ademxapp-{arch}'
