"""The PyTorch ports' parameter names -> mmwrn.

* IABN (mapillary/inplace_abn): ``mod1.conv1``, ``mod{L}.block{n}.bn1``,
  ``...convs.conv1|bn2|conv2|bn3|conv3``, ``...proj_conv``, ``bn_out``,
  ``classifier.fc``; checkpoints hold ``state_dict`` with a ``module.`` prefix.
* NV (NVIDIA/semantic-segmentation): the same names with BN + activation as
  ``nn.Sequential``, i.e. ``bn1.0.weight``.
* PSA (jiwoon-ahn/psa ``resnet38d``): ``conv1a``, ``b2``, ``b2_1``, ...,
  ``{bn,conv}_branch2a|2b1|2b2``, ``conv_branch1``, ``bn7``.
"""
import re

from .common import ConversionError

IABN_UNIT = re.compile(r'^mod([2-7])\.block(\d+)\.(bn1|proj_conv|convs\.(conv[123]|bn[23]))'
                       r'\.(weight|bias|running_mean|running_var)$')
PSA_UNIT = re.compile(r'^b([2-7])(?:_(\d+))?\.(bn|conv)_(branch2a|branch2b1|branch2b2|branch1)'
                      r'\.(weight|bias|running_mean|running_var)$')
PSA_INDEX = {'branch2a': 1, 'branch2b1': 2, 'branch2b2': 3}
FORMATS = ('iabn', 'nv', 'psa')


def unwrap(checkpoint):
    """The state dict of a checkpoint, without DataParallel's ``module.``."""
    if not isinstance(checkpoint, dict):
        raise ConversionError(f'expected a checkpoint dict, got {type(checkpoint).__name__}')
    state = checkpoint.get('state_dict', checkpoint.get('model', checkpoint))
    if not isinstance(state, dict) or not state:
        raise ConversionError('the checkpoint holds no state dict')
    return {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}


def detect_format(state):
    keys = set(state)
    if any(k.startswith('mod1.conv1') for k in keys):
        return 'nv' if any(re.search(r'\.bn\d\.0\.', k) or k.startswith('bn_out.0.')
                           for k in keys) else 'iabn'
    if 'conv1a.weight' in keys and any(k.startswith('b2.') for k in keys):
        return 'psa'
    raise ConversionError(
        'not an IABN / NV / PSA WiderResNet checkpoint: expected mod1.conv1.* (IABN, NV) '
        f'or conv1a.weight + b2.* (PSA); found e.g. {sorted(keys)[:5]}')


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


def convert_port(checkpoint, fmt=None):
    """Returns ``(state_dict, unused_names, format)``."""
    state = unwrap(checkpoint)
    fmt = fmt or detect_format(state)
    if fmt not in FORMATS:
        raise ConversionError(f'unknown format {fmt!r}; valid: {FORMATS}')
    target_of = _psa_target if fmt == 'psa' else _iabn_target
    converted, unused = {}, []
    for name, value in state.items():
        if name.endswith('num_batches_tracked'):
            continue
        target = target_of(name)
        if target is None:
            unused.append(name)
        else:
            converted[target] = value.float()
    if 'backbone.conv1a.weight' not in converted:
        raise ConversionError(f'no stem conv found in this {fmt} checkpoint')
    return converted, unused, fmt
