"""The PyTorch ports' checkpoints -> mmwrn state dicts.

* IABN (mapillary/inplace_abn): ``mod1.conv1``, ``mod{L}.block{n}.bn1``,
  ``...convs.conv1|bn2|conv2|bn3|conv3``, ``...proj_conv``, ``bn_out``,
  ``classifier.fc``. Its ImageNet release (``wider_resnet38``: Model A) holds
  ``state_dict`` with DataParallel's ``module.`` prefix; its Mapillary Vistas
  snapshots (``wide_resnet38_deeplab_vistas.pth.tar``: A2) hold
  ``state_dict = {'body': A2 backbone, 'head': DeeplabV3, 'cls': 1x1 conv}``.
  Trained with in-place ABN, whose scale is ``|weight| + eps``.
* NV (NVIDIA/semantic-segmentation ``wider_resnet38.pth.tar``): IABN's names
  with BN + ReLU as ``nn.Sequential`` (``bn1.0.weight``), loaded by NV into
  ``wider_resnet38_a2(classes=1000, dilation=True)``: A2, plain BN, ReLU.
* PSA (jiwoon-ahn/psa ``resnet38d``): ``conv1a``, ``b2``, ``b2_1``, ...,
  ``{bn,conv}_branch2a|2b1|2b2``, ``conv_branch1``, ``bn7`` (ademxapp's A1
  renamed) and, in ``resnet38_cls`` files (``res38_cls.pth``), the bias-free
  1x1 CAM classifier ``fc8`` -> ``CAMClsHead``'s ``head.fc8``. Any other
  layer (e.g. SEAM's ``f8_3`` / ``f8_4`` / ``f9`` PCM) is refused, listed.
"""

import re

import torch

from .common import ConversionError

IABN_UNIT = re.compile(
    r'^mod([2-7])\.block(\d+)\.(bn1|proj_conv|convs\.(conv[123]|bn[23]))'
    r'\.(weight|bias|running_mean|running_var)$'
)
PSA_UNIT = re.compile(
    r'^b([2-7])(?:_(\d+))?\.(bn|conv)_(branch2a|branch2b1|branch2b2|branch1)'
    r'\.(weight|bias|running_mean|running_var)$'
)
PSA_INDEX = {'branch2a': 1, 'branch2b1': 2, 'branch2b2': 3}
FORMATS = ('iabn', 'nv', 'psa')
# the networks each format can hold (see architecture.SOURCES)
ARCHS = {'iabn': ('a', 'a2'), 'nv': ('a2',), 'psa': ('a1',)}
# in-place ABN's eps (IABN's ABN default)
IABN_EPS = 1e-5
NV_SEGMENTER = re.compile(r'^(aspp|bot_fine|bot_aspp|final)\.')


def _strip(state):
    return {k[len('module.') :] if k.startswith('module.') else k: v for k, v in state.items()}


def read_checkpoint(checkpoint):
    """``(parts, snapshot)``: ``parts`` maps 'body' (and, for an IABN Vistas
    snapshot, 'head' and 'cls') to state dicts without ``module.``."""
    if not isinstance(checkpoint, dict):
        raise ConversionError(f'expected a checkpoint dict, got {type(checkpoint).__name__}')
    state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    if not isinstance(state, dict) or not state:
        raise ConversionError('the checkpoint holds no state dict')
    if 'body' in state and all(isinstance(v, dict) for v in state.values()):
        unknown = sorted(set(state) - {'body', 'head', 'cls'})
        if unknown:
            raise ConversionError(
                f"a snapshot with parts {sorted(state)}; expected IABN's {{'body', 'head', 'cls'}}"
            )
        return {k: _strip(v) for k, v in state.items()}, True
    return {'body': _strip(state)}, False


def detect_format(state):
    keys = set(state)
    if any(k.startswith('mod1.conv1') for k in keys):
        return (
            'nv'
            if any(re.search(r'\.bn\d\.0\.', k) or k.startswith('bn_out.0.') for k in keys)
            else 'iabn'
        )
    if 'conv1a.weight' in keys and any(k.startswith('b2.') for k in keys):
        return 'psa'
    raise ConversionError(
        'not an IABN / NV / PSA WiderResNet checkpoint: expected mod1.conv1.* (IABN, NV) '
        f'or conv1a.weight + b2.* (PSA); found e.g. {sorted(keys)[:5]}'
    )


def identify(parts, snapshot, fmt=None, arch=None):
    """``(format, source)``: the checkpoint's naming and the network it is,
    ``source`` a key of ``architecture.SOURCES``. What a file IS decides the
    variant, because Model A and A2 have the same parameters: an IABN file
    with the ImageNet classifier is ``wider_resnet38`` (Model A), a Vistas
    snapshot is A2, NV's files are A2, PSA's A1. ``arch`` ('a', 'a1', 'a2')
    is needed where the file cannot tell (an IABN backbone without either)."""
    body = parts['body']
    fmt = fmt or detect_format(body)
    if fmt not in FORMATS:
        raise ConversionError(f'unknown format {fmt!r}; valid: {FORMATS}')
    if fmt == 'nv' and any(NV_SEGMENTER.match(k) for k in body):
        raise ConversionError(
            'this is an NV segmentation checkpoint (DeepWV3Plus: aspp / bot_fine / bot_aspp / '
            "final): its head is not mmseg's DeepLabV3+ (plain 3x3 convs, a 1x1 low-level "
            'projection without BN, ASPP on B7 before bn_out, which it lacks), so it converts '
            "into no mmwrn config. Convert NV's ImageNet file wider_resnet38.pth.tar instead."
        )
    if arch is not None and arch not in ARCHS[fmt]:
        raise ConversionError(
            f'--arch {arch} is not a network the {fmt} format holds; valid: {ARCHS[fmt]}'
        )
    if fmt == 'iabn':
        known = (
            'a2' if snapshot else 'a' if any(k.startswith('classifier.') for k in body) else None
        )
        if known and arch and arch != known:
            raise ConversionError(
                f'--arch {arch} contradicts the file: '
                + (
                    'an IABN Vistas snapshot {body, head, cls} is WiderResNetA2 (a2)'
                    if snapshot
                    else 'an IABN file with the ImageNet classifier is wider_resnet38 (Model A)'
                )
            )
        arch = known or arch
        if arch is None:
            raise ConversionError(
                'an IABN backbone without classifier or snapshot parts: Model A '
                '(wider_resnet38) and A2 (wider_resnet38_a2) have the same parameters, so the '
                'file cannot tell which it is. Give --arch a (max-pools before B2-B6) or '
                '--arch a2 (max-pools before B2-B3, strided B4-B6), as the network it was '
                'saved from.'
            )
    else:
        arch = ARCHS[fmt][0]
    return fmt, f'{fmt}-{arch}'


def _iabn_target(name):
    name = re.sub(r'\.(bn\d|bn_out)\.0\.', r'.\1.', '.' + name)[1:]  # NV's bn1.0 -> bn1
    if name == 'mod1.conv1.weight':
        return 'backbone.conv1a.weight'
    m = re.match(r'^bn_out\.(weight|bias|running_mean|running_var)$', name)
    if m:
        return f'backbone.bn7.{m.group(1)}'
    m = re.match(r'^classifier\.fc\.(weight|bias)$', name)
    if m:
        return f'head.fc.{m.group(1)}'
    m = IABN_UNIT.match(name)
    if not m:
        return None
    level, block, layer, _, param = m.groups()
    prefix = f'backbone.b{level}.{int(block) - 1}'
    if layer == 'proj_conv':
        return f'{prefix}.shortcut.{param}' if param == 'weight' else None
    kind, index = re.match(r'(?:convs\.)?(conv|bn)(\d)', layer).groups()
    return f'{prefix}.{"conv" if kind == "conv" else "norm"}{index}.{param}'


def _psa_target(name):
    if name == 'conv1a.weight':
        return 'backbone.conv1a.weight'
    if name == 'fc8.weight':
        return 'head.fc8.weight'
    m = re.match(r'^bn7\.(weight|bias|running_mean|running_var)$', name)
    if m:
        return f'backbone.bn7.{m.group(1)}'
    m = PSA_UNIT.match(name)
    if not m:
        return None
    level, unit, kind, branch, param = m.groups()
    prefix = f'backbone.b{level}.{int(unit or 0)}'
    if branch == 'branch1':
        return f'{prefix}.shortcut.weight' if kind == 'conv' and param == 'weight' else None
    return f'{prefix}.{"conv" if kind == "conv" else "norm"}{PSA_INDEX[branch]}.{param}'


BN_PARAMS = ('weight', 'bias', 'running_mean', 'running_var')


def convert_iabn_head(head, cls):
    """IABN's DeeplabV3 + ``cls`` -> mmseg's ASPPHead, exactly: map convs ->
    ``aspp_modules`` (their joint ABN ``map_bn`` split per branch: BN is per
    channel), the image pool's conv + ABN -> ``image_pool.1``, ``red_conv`` and
    ``pool_red_conv`` (1x1 convs summed) -> the centre tap of the 3x3
    ``bottleneck`` over [pool, map convs] (zero elsewhere: the same function),
    ``red_bn`` -> its norm, ``cls`` -> ``conv_seg``. Returns ``(state, unused)``."""
    state, used = {}, set()

    def take(name):
        if name not in head:
            raise ConversionError(
                f"the snapshot's head has no {name}: not IABN's DeeplabV3 "
                f'(found e.g. {sorted(head)[:5]})'
            )
        used.add(name)
        return head[name]

    n_maps = len([k for k in head if re.match(r'^map_convs\.\d+\.weight$', k)])
    hidden = take('map_convs.0.weight').shape[0]
    for i in range(n_maps):
        state[f'decode_head.aspp_modules.{i}.conv.weight'] = take(f'map_convs.{i}.weight')
        for p in BN_PARAMS:
            state[f'decode_head.aspp_modules.{i}.bn.{p}'] = take(f'map_bn.{p}')[
                i * hidden : (i + 1) * hidden
            ]
    state['decode_head.image_pool.1.conv.weight'] = take('global_pooling_conv.weight')
    for p in BN_PARAMS:
        state[f'decode_head.image_pool.1.bn.{p}'] = take(f'global_pooling_bn.{p}')
        state[f'decode_head.bottleneck.bn.{p}'] = take(f'red_bn.{p}')
    red, pool_red = take('red_conv.weight'), take('pool_red_conv.weight')
    if red.shape[2:] != (1, 1) or pool_red.shape[2:] != (1, 1):
        raise ConversionError('IABN DeeplabV3 with non-1x1 reduction convs: unknown layout')
    centre = torch.cat([pool_red, red], dim=1)
    bottleneck = centre.new_zeros(centre.shape[:2] + (3, 3))
    bottleneck[:, :, 1, 1] = centre[:, :, 0, 0]
    state['decode_head.bottleneck.conv.weight'] = bottleneck
    for p in ('weight', 'bias'):
        if p in cls:
            state[f'decode_head.conv_seg.{p}'] = cls[p]
    unused = [f'head.{k}' for k in head if k not in used and not k.endswith('num_batches_tracked')]
    unused += [f'cls.{k}' for k in cls if k not in ('weight', 'bias')]
    return state, unused


def fold_inplace_abn(state, eps=IABN_EPS):
    """In-place ABN normalises with scale ``|weight| + eps``: write that into
    every norm weight, so that plain BN computes the same. Returns the count."""
    count = 0
    for k in list(state):
        if re.search(r'(\.norm\d|\.bn7|\.bn)\.weight$', k):
            state[k] = state[k].abs() + eps
            count += 1
    return count


def convert_port(parts, fmt):
    """``(state_dict, unused_names)`` of checkpoint ``parts`` (see
    :func:`read_checkpoint`) in format ``fmt``."""
    target_of = _psa_target if fmt == 'psa' else _iabn_target
    converted, unused = {}, []
    for name, value in parts['body'].items():
        if name.endswith('num_batches_tracked'):
            continue
        target = target_of(name)
        if target is None:
            unused.append(name)
        else:
            converted[target] = value.float()
    if 'backbone.conv1a.weight' not in converted:
        raise ConversionError(f'no stem conv found in this {fmt} checkpoint')
    if fmt == 'psa' and unused:
        raise ConversionError(
            f'this PSA checkpoint has {len(unused)} tensors of layers the converter does not '
            "know (PSA's resnet38d + resnet38_cls fc8 are converted; anything else would be "
            'dropped silently, so nothing is written): ' + ', '.join(sorted(unused))
        )
    if 'head' in parts:
        head, head_unused = convert_iabn_head(
            {k: v.float() for k, v in parts['head'].items()},
            {k: v.float() for k, v in parts.get('cls', {}).items()},
        )
        converted.update(head)
        unused += head_unused
    return converted, unused
