"""What each published network IS, as data, and the same facts read back from
a built model, so that a converter can refuse a config that would load the
weights and compute something else.

A source's table (``SOURCES``) names every setting that changes the function
of the network the weights were trained in, as the projects' own code builds
it (ademxapp ``util/symbol/resnet_v2.py``; IABN ``models/wider_resnet.py``,
``modules/residual.py``, ``inplace_abn``; NVIDIA ``network/wider_resnet.py``;
PSA ``network/resnet38d.py``):

* ``variant``: how B2-B6 downsample ('a' max-pools, 'a1' strided units, 'a2'
  pools before B2/B3 then strided units);
* ``pool_padding``: padding of the 3x3/2 max-pools (None: the network has none);
* ``act``: the activation, ``(type, negative_slope)``;
* ``norm_eps``: the BN eps the weights need;
* ``output_strides``: the output strides the source project builds this
  network at (its classifier at 32; its dilated forms for segmentation);
* ``dilation_rule``: how the project dilates it below output stride 32
  ('ademxapp': a de-strided level's first conv keeps the previous dilation;
  'iabn': every conv of the level gets the new one);
* ``mean`` / ``std``: the input normalisation (RGB, 0-255 scale).

:func:`describe_backbone` and :func:`describe_head` read the same settings
from the modules of a built mmpretrain / mmseg model (not from its config):
the conv strides and dilations
and the max-pools level by level, matched against every (variant, output
stride, dilation rule) the rules of ``expected_layout`` produce; the
activation modules; the norm layers' types and eps; which backbone output the
classifier or decode head reads. :func:`check_architecture` compares both.
"""

import math

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

RELU = ('ReLU', None)
LEAKY = ('LeakyReLU', 0.01)
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
# IABN's Mapillary Vistas statistics (its test_vistas_single_gpu.py), x 255
VISTAS_MEAN = (106.4336824, 116.6170896, 119.5595320)
VISTAS_STD = (65.4970, 67.6004, 74.1234)

CLS = 'configs/wider_resnet_cls/'
SEG = 'configs/wider_resnet_seg/'
WSSS = 'configs/wider_resnet_wsss/'
ADEMXAPP_SEG = tuple(
    SEG + f'twoconv_wider-resnet38-a1-d8_4xb4-{s}.py'
    for s in (
        '40k_voc12aug-504x504',
        '38k_cityscapes-504x504',
        '80k_ade20k-504x504',
        '80k_pascal-context-504x504',
        '80k_pascal-context-59-504x504',
    )
)

# Settings of the networks the published weights belong to. ``configs``: the
# shipped configs that reproduce it (checked by tests/test_converters).
SOURCES = {
    'ademxapp-a': dict(
        title="ademxapp's Model A (MXNet)",
        variant='a',
        pool_padding=0,
        act=RELU,
        norm_eps=1.001e-5,
        output_strides=(32, 16),
        dilation_rule='ademxapp',
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        configs=(CLS + 'wider-resnet38-a_4xb64_in1k.py',),
    ),
    'ademxapp-a1': dict(
        title="ademxapp's Model A1 (MXNet)",
        variant='a1',
        pool_padding=None,
        act=RELU,
        norm_eps=1.001e-5,
        output_strides=(32, 16, 8),
        dilation_rule='ademxapp',
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        configs=(CLS + 'wider-resnet38-a1_4xb64_in1k.py',) + ADEMXAPP_SEG,
    ),
    'iabn-a': dict(
        title="IABN's wider_resnet38 (Model A: WiderResNet, in-place ABN)",
        variant='a',
        pool_padding=1,
        act=LEAKY,
        norm_eps=1e-5,
        output_strides=(32,),
        dilation_rule=None,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        configs=(CLS + 'wider-resnet38-a_3rdparty-iabn_in1k.py',),
    ),
    'iabn-a2': dict(
        title="IABN's wider_resnet38_a2 (WiderResNetA2, in-place ABN)",
        variant='a2',
        pool_padding=1,
        act=LEAKY,
        norm_eps=1e-5,
        output_strides=(32, 8),
        dilation_rule='iabn',
        mean=VISTAS_MEAN,
        std=VISTAS_STD,
        configs=(SEG + 'deeplabv3_wider-resnet38-a2-d8_3rdparty-iabn_mapillary-v1-65.py',),
    ),
    'nv-a2': dict(
        title="NVIDIA's wider_resnet38_a2 (WiderResNetA2, BN + ReLU)",
        variant='a2',
        pool_padding=1,
        act=RELU,
        norm_eps=1e-5,
        output_strides=(32, 8),
        dilation_rule='iabn',
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        configs=(
            SEG + 'deeplabv3plus_wider-resnet38-a2-d8_3rdparty-nv_4xb2-80k_cityscapes-512x1024.py',
        ),
    ),
    'psa-a1': dict(
        title="PSA's resnet38d (ademxapp's A1 in PyTorch, output stride 8)",
        variant='a1',
        pool_padding=None,
        act=RELU,
        norm_eps=1e-5,
        output_strides=(8,),
        dilation_rule='ademxapp',
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        configs=(
            SEG + 'twoconv_wider-resnet38-a1-d8_3rdparty-psa_4xb4-40k_voc12aug-504x504.py',
            SEG + 'fcn_wider-resnet38-a1-d8_4xb2-80k_cityscapes-512x1024.py',
            SEG + 'fcn_wider-resnet38-a1-d8_4xb4-80k_ade20k-512x512.py',
            SEG + 'pspnet_wider-resnet38-a1-d8_4xb2-80k_cityscapes-512x1024.py',
            SEG + 'pspnet_wider-resnet38-a1-d8_4xb4-80k_ade20k-512x512.py',
            WSSS + 'wider-resnet38-a1-d8-cam_3rdparty-psa_2xb8-15e_voc12aug-448x448.py',
        ),
    ),
}

# Heads a source's own head converts into, with what they must be.
HEADS = {
    # ademxapp's "2 conv." head: conv6a 3x3 dilation 12 + ReLU, classifier
    # 3x3 dilation 12, no norm
    'twoconv': dict(type='TwoConvHead', dilations=(12, 12), act=RELU, norm_eps=None),
    # IABN's DeeplabV3 (map convs 1x1 + 3x3 at 12/24/36, image pool; ABN)
    'iabn-deeplabv3': dict(type='ASPPHead', dilations=(1, 12, 24, 36), act=LEAKY, norm_eps=1e-5),
    # an ImageNet classifier: global average pooling + FC
    'linear': dict(type='LinearClsHead', neck='GlobalAveragePooling'),
    # PSA's CAM classifier (resnet38_cls): GAP + bias-free 1x1 fc8, no neck
    'cam': dict(type='CAMClsHead', neck=None),
}

LEVELS = (2, 3, 4, 5, 6, 7)
VARIANTS = {
    'a': ('pool', 'pool', 'pool', 'pool', 'pool', None),
    'a1': ('stride', 'stride', 'stride', 'stride', 'stride', None),
    'a2': ('pool', 'pool', 'stride', 'stride', 'stride', None),
}
DILATED_LEVELS = {32: (), 16: (4,), 8: (3, 4)}  # 0 = B2
RULES = ('ademxapp', 'iabn')
STRUCTURAL = (
    nn.Conv2d,
    nn.Linear,
    _BatchNorm,
    nn.GroupNorm,
    nn.LayerNorm,
    nn.MaxPool2d,
    nn.AvgPool2d,
    nn.AdaptiveAvgPool2d,
    nn.Dropout,
    nn.Dropout2d,
    nn.ConstantPad2d,
    nn.Identity,
)


def expected_layout(variant, output_stride, rule, kernels):
    """Per level B2-B7: ``(pool, units)``; ``pool`` is None or ``(stride,
    dilation)`` of a 3x3 max-pool before the level, ``units`` a tuple per unit
    of ``(conv strides, shortcut stride, conv dilations)``.
    ``kernels[level][unit]`` gives the kernel sizes of each conv (1x1 convs
    have dilation 1)."""
    dilation, layout = 1, []
    # as many levels as ``kernels`` has: a backbone built up to its deepest output
    for i, (downsample, _) in enumerate(zip(VARIANTS[variant], kernels)):
        dilated = i in DILATED_LEVELS[output_stride]
        new = dilation * 2 if downsample and dilated else dilation
        pool = None
        if downsample == 'pool':  # a de-strided pool keeps the size, dilated as before
            pool = (1, dilation) if dilated else (2, 1)
        units = []
        for u, unit_kernels in enumerate(kernels[i]):
            first_strided = u == 0 and downsample == 'stride'
            dils = [new] * len(unit_kernels)
            if first_strided and dilated and rule == 'ademxapp':
                dils[0] = dilation
            stride = 2 if first_strided and not dilated else 1
            # the stride on the first conv (a bottleneck's 1x1) and the shortcut
            units.append(
                (
                    (stride,) + (1,) * (len(unit_kernels) - 1),
                    stride,
                    tuple(d if k > 1 else 1 for d, k in zip(dils, unit_kernels)),
                )
            )
        layout.append((pool, tuple(units)))
        dilation = new
    return tuple(layout)


def _max_pool(module):
    if module is None:
        return None
    pools = [m for m in module.modules() if isinstance(m, nn.MaxPool2d)]
    return pools[0] if len(pools) == 1 else module


def _pair(v):
    return v[0] if isinstance(v, tuple) else v


def _activations(module):
    """``{(type, negative_slope)}`` of the activation modules under ``module``."""
    acts = set()
    for m in module.modules():
        if (
            next(m.children(), None) is not None
            or isinstance(m, STRUCTURAL)
            or isinstance(m, nn.modules.loss._Loss)
            or type(m).__name__.endswith('Loss')
        ):
            continue
        acts.add((type(m).__name__, getattr(m, 'negative_slope', None)))
    return acts


def _norms(module):
    norms = set()
    for m in module.modules():
        if isinstance(m, _BatchNorm):
            norms.add(('BN', m.eps))
        elif isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
            norms.add((type(m).__name__, m.eps))
    return norms


def describe_backbone(backbone):
    """The function-relevant settings of a Wider ResNet backbone, read from
    its modules; None if it is not a Wider ResNet (levels ``b2`` .. ``b7``, or
    ``b2`` up to the deepest level it builds)."""
    levels = [getattr(backbone, f'b{level}', None) for level in LEVELS]
    built = levels[: levels.index(None)] if None in levels else levels
    if (
        not built
        or any(level is not None for level in levels[len(built) :])
        or any(not isinstance(level, nn.Sequential) or len(level) == 0 for level in built)
    ):
        return None
    levels = built
    observed, kernels, pool_paddings = [], [], set()
    for level, units in zip(LEVELS, levels):
        pool = _max_pool(getattr(backbone, f'pool{level}', None))
        if pool is not None and (
            not isinstance(pool, nn.MaxPool2d) or _pair(pool.kernel_size) != 3
        ):
            return None  # not a 3x3 max-pool: no source has that
        if pool is not None and _pair(pool.stride) == 2:
            pool_paddings.add(_pair(pool.padding))
        pool_desc = None if pool is None else (_pair(pool.stride), _pair(pool.dilation))
        unit_descs, unit_kernels = [], []
        for unit in units:
            convs = [getattr(unit, f'conv{i}', None) for i in (1, 2, 3)]
            convs = [c for c in convs if c is not None]
            shortcut = getattr(unit, 'shortcut', None)
            unit_descs.append(
                (
                    tuple(_pair(c.stride) for c in convs),
                    _pair(shortcut.stride) if shortcut is not None else _pair(convs[0].stride),
                    tuple(_pair(c.dilation) for c in convs),
                )
            )
            unit_kernels.append(tuple(_pair(c.kernel_size) for c in convs))
        observed.append((pool_desc, tuple(unit_descs)))
        kernels.append(unit_kernels)
    observed = tuple(observed)
    layouts = [
        (v, os, rule)
        for v in VARIANTS
        for os in DILATED_LEVELS
        for rule in RULES
        if expected_layout(v, os, rule, kernels) == observed
    ]
    return dict(
        # every (variant, output stride, rule) that builds these modules
        layouts=layouts,
        variant=sorted({v for v, _, _ in layouts}),
        output_stride=sorted({os for _, os, _ in layouts}),
        pool_padding=sorted(pool_paddings),
        act=sorted(_activations(backbone), key=str),
        norm=sorted(_norms(backbone), key=str),
        out_indices=tuple(getattr(backbone, 'out_indices', ())),
    )


def describe_head(model):
    """The converted-head-relevant settings of a classifier's neck + head or a
    segmenter's decode head, and which backbone output it reads."""
    out_indices = tuple(getattr(model.backbone, 'out_indices', ()))
    if hasattr(model, 'decode_head'):
        head = model.decode_head
        in_index = getattr(head, 'in_index', -1)
        dilations = getattr(head, 'dilations', None)
        if type(head).__name__ == 'TwoConvHead':
            dilations = (_pair(head.conv6a.conv.dilation), _pair(head.conv_seg.dilation))
        return dict(
            type=type(head).__name__,
            reads=out_indices[in_index] if isinstance(in_index, int) and out_indices else None,
            dilations=tuple(dilations) if dilations is not None else None,
            act=sorted(_activations(head), key=str),
            norm=sorted(_norms(head), key=str),
        )
    head, neck = getattr(model, 'head', None), getattr(model, 'neck', None)
    return dict(
        type=type(head).__name__ if head is not None else None,
        neck=type(neck).__name__ if neck is not None else None,
        reads=out_indices[-1] if out_indices else None,
    )


def _fmt(values):
    return ', '.join(map(_fmt_one, values)) if isinstance(values, list) else _fmt_one(values)


def _fmt_one(v):
    """An activation ``(type, slope)`` as ``LeakyReLU(0.01)``, a norm
    ``(type, eps)`` as ``BN eps 1e-05``, anything else as ``str``."""
    if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str):
        kind, value = v
        if kind in ('BN', 'GroupNorm', 'LayerNorm'):
            return f'{kind} eps {value:g}'
        return kind if value is None else f'{kind}({value:g})'
    return str(v)


def _close(a, b):
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9)


def check_architecture(source, model, head=None):
    """Mismatches ``[(setting, source needs, config has)]`` between the source
    network ``SOURCES[source]`` and the built ``model``. ``head``: key of
    ``HEADS`` when the source's own head is converted into the model's."""
    arch = SOURCES[source]
    found = describe_backbone(model.backbone)
    if found is None:
        return [
            (
                'backbone',
                'WiderResNet (levels b2-b7 of pre-activation units)',
                type(model.backbone).__name__,
            )
        ]
    problems = []
    if not found['layouts']:
        problems.append(
            (
                'backbone layout',
                'a Model A / A1 / A2 layout',
                'conv strides / dilations of no known variant',
            )
        )
    else:
        if arch['variant'] not in found['variant']:
            problems.append(('variant', arch['variant'], _fmt(found['variant'])))
        elif not set(found['output_stride']) & set(arch['output_strides']):
            allowed = arch['output_strides']
            problems.append(
                (
                    'output_stride',
                    ' or '.join(map(str, allowed))
                    + (
                        ''
                        if arch['dilation_rule']
                        else ' (the source project has no dilated form of this network)'
                    ),
                    _fmt(found['output_stride']),
                )
            )
        elif not any(
            v == arch['variant']
            and os in arch['output_strides']
            and (os == 32 or rule == arch['dilation_rule'])
            for v, os, rule in found['layouts']
        ):
            rules = sorted({r for v, os, r in found['layouts'] if v == arch['variant']})
            problems.append(('dilation_rule', arch['dilation_rule'], _fmt(rules)))
    if (
        arch['pool_padding'] is not None
        and found['pool_padding']
        and found['pool_padding'] != [arch['pool_padding']]
    ):
        problems.append(('pool_padding', arch['pool_padding'], _fmt(found['pool_padding'])))
    if found['act'] != [arch['act']]:
        problems.append(('act_cfg', _fmt_one(arch['act']), _fmt(found['act'])))
    if any(kind != 'BN' or not _close(eps, arch['norm_eps']) for kind, eps in found['norm']):
        problems.append(('norm_cfg', f'BN eps {arch["norm_eps"]:g}', _fmt(found['norm'])))
    problems += _check_preprocessor(arch, model)
    if head is not None:
        problems += _check_head(HEADS[head], model)
    return problems


def _check_preprocessor(arch, model):
    pre = getattr(model, 'data_preprocessor', None)
    mean, std = getattr(pre, 'mean', None), getattr(pre, 'std', None)
    if mean is None or std is None:
        return []
    has = (
        tuple(round(v, 3) for v in mean.flatten().tolist()),
        tuple(round(v, 3) for v in std.flatten().tolist()),
    )
    needs = (tuple(round(v, 3) for v in arch['mean']), tuple(round(v, 3) for v in arch['std']))
    if (
        any(not math.isclose(a, b, rel_tol=1e-4) for x, y in zip(has, needs) for a, b in zip(x, y))
        or len(has[0]) != 3
    ):
        return [
            ('data_preprocessor mean / std', f'{needs[0]} / {needs[1]}', f'{has[0]} / {has[1]}')
        ]
    return []


def _check_head(want, model):
    found = describe_head(model)
    problems = []
    if found['type'] != want['type']:
        return [('head type', want['type'], found['type'])]
    if found['reads'] != 6:
        problems.append(
            (
                'head input',
                'backbone output 6 (B7 after bn7 + activation)',
                f'backbone output {found["reads"]}',
            )
        )
    if 'neck' in want and found['neck'] != want['neck']:
        problems.append(('neck', want['neck'], found['neck']))
    if want.get('dilations') and found['dilations'] != want['dilations']:
        problems.append(('head dilations', want['dilations'], found['dilations']))
    if 'act' in want and found['act'] != [want['act']]:
        problems.append(('head act_cfg', _fmt_one(want['act']), _fmt(found['act'])))
    if 'norm_eps' in want:
        wanted = [] if want['norm_eps'] is None else [('BN', want['norm_eps'])]
        if len(found['norm']) != len(wanted) or any(
            k != 'BN' or not _close(e, want['norm_eps']) for k, e in found['norm']
        ):
            problems.append(
                (
                    'head norm_cfg',
                    'none' if not wanted else _fmt(wanted),
                    _fmt(found['norm']) or 'none',
                )
            )
    return problems


def describe_source(source, model):
    """The source's architecture as recorded in a converted checkpoint's meta."""
    arch = SOURCES[source]
    found = describe_backbone(model.backbone) or {}
    # a backbone built only up to B5 or less fits several output strides
    strides = found.get('output_stride') or []
    declared = getattr(model.backbone, 'output_stride', None)
    output_stride = declared if declared in strides else (strides[0] if len(strides) == 1 else None)
    return dict(
        source=source,
        title=arch['title'],
        variant=arch['variant'],
        pool_padding=arch['pool_padding'],
        act=list(arch['act']),
        norm_eps=arch['norm_eps'],
        dilation_rule=arch['dilation_rule'],
        output_stride=output_stride,
    )


def mismatch_message(source, problems, config, init_only_hint=True):
    arch = SOURCES[source]
    lines = [
        f'{config} does not build the network these weights belong to '
        f'({arch["title"]}): loaded into it they would compute a different function.'
    ]
    for setting, needs, has in problems:
        lines.append(f'  {setting}: the source needs {needs}, the config has {has}')
    lines.append('Shipped configs that reproduce it: ' + ', '.join(arch['configs']))
    if init_only_hint:
        lines.append(
            '(--init-only converts anyway, as an initialisation for fine-tuning '
            "only, and records that in the checkpoint's meta)"
        )
    return '\n'.join(lines)
