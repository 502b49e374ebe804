"""Reference forwards of the published Wider ResNet networks for the converter
tests, written from each project's own definition and independent of mmwrn's
modules: ademxapp's ``rna_feat`` (MXNet), IABN's ``WiderResNet`` /
``WiderResNetA2`` with in-place ABN and its ``DeeplabV3``, NVIDIA's
``WiderResNetA2`` (BN + ReLU), PSA's ``resnet38d``. Random parameters in each
project's naming, saved in its checkpoint layout (an MXNet NDArray list for
ademxapp), at reduced widths.

Every forward returns ``{index: tensor}`` for mmwrn's backbone outputs (0 the
stem conv, 1-5 the raw sums of B2-B6, 6 B7 after the final norm + activation)
and, where the network has one, ``'logits'``.
"""

import struct

import numpy as np
import torch
import torch.nn.functional as F

LEVELS = (2, 3, 4, 5, 6, 7)
UNITS = (3, 3, 6, 3, 1, 1)  # depth 38
# tests.helpers.seg.TINY_BACKBONE: the widths the shrunk shipped configs build
STEM = 4
CHANNELS = ((8, 8), (16, 16), (32, 32), (32, 64), (32, 64, 128), (64, 128, 256))
# ademxapp's branch names of a unit's convs / their pre-activation BNs
BRANCHES = ('branch2a', 'branch2b1', 'branch2b2')


def units(layout=UNITS, channels=CHANNELS, stem=STEM):
    """``(level, unit index, in channels, conv widths)`` of every unit."""
    cin = stem
    for level, n, widths in zip(LEVELS, layout, channels):
        for u in range(n):
            yield level, u, cin, widths
            cin = widths[-1]


def kernels(widths):
    return (3, 3) if len(widths) == 2 else (1, 3, 1)


class Random:
    """Random parameters: He-normal convs, BN statistics and affines in
    realistic ranges; ``signed_bn`` draws BN weights of both signs (in-place
    ABN's ``|weight| + eps`` then matters)."""

    def __init__(self, seed=0, signed_bn=False):
        self.g = torch.Generator().manual_seed(seed)
        self.signed_bn = signed_bn

    def normal(self, *shape, std=1.0):
        return torch.randn(*shape, generator=self.g) * std

    def uniform(self, lo, hi, *shape):
        return lo + (hi - lo) * torch.rand(*shape, generator=self.g)

    def conv(self, cout, cin, k):
        return self.normal(cout, cin, k, k, std=(2.0 / (cin * k * k)) ** 0.5)

    def bn(self, c):
        weight = self.uniform(0.5, 1.5, c)
        if self.signed_bn:
            weight = weight * torch.where(torch.rand(c, generator=self.g) < 0.3, -1.0, 1.0)
        # some nearly dead channels, as trained networks have: their tiny
        # variance makes BN's eps (1e-5 vs ademxapp's 1.001e-5) visible; their
        # weight scales like the standard deviation (the output stays O(1))
        dead = torch.rand(c, generator=self.g) < 0.2
        var = torch.where(dead, self.uniform(1e-4, 1e-3, c), self.uniform(0.5, 1.5, c))
        weight = torch.where(dead, weight * var.sqrt(), weight)
        return dict(
            weight=weight,
            bias=self.normal(c, std=0.1),
            running_mean=self.normal(c, std=0.1) * var.sqrt(),
            running_var=var,
        )


class Shapes(Random):
    """Parameters as empty tensors on the meta device: names and shapes of a
    full-size network at no memory cost."""

    def normal(self, *shape, std=1.0):
        return torch.empty(*shape, device='meta')

    def uniform(self, lo, hi, *shape):
        return torch.empty(*shape, device='meta')

    def bn(self, c):
        return {
            k: torch.empty(c, device='meta')
            for k in ('weight', 'bias', 'running_mean', 'running_var')
        }


def conv(x, w, stride=1, dilation=1, bias=None):
    k = w.shape[-1]
    return F.conv2d(x, w, bias, stride, dilation * (k - 1) // 2, dilation)


def batch_norm(x, p, eps, scale=None):
    weight = p['weight'] if scale is None else scale
    return F.batch_norm(x, p['running_mean'], p['running_var'], weight, p['bias'], False, 0.0, eps)


def rel_diff(a, b):
    """max |a - b| / max |b| of an output ``a`` and a reference ``b``
    (infinite if the shapes differ or ``a`` is not finite)."""
    if not torch.isfinite(b).all():
        raise ValueError('the reference output is not finite: the random network overflows')
    if a.shape != b.shape or not torch.isfinite(a).all():
        return float('inf')
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item()


# --------------------------------------------------------------------- ademxapp
def ademxapp_params(rng, head=None, classes=1000, head_channels=16, channels=CHANNELS, stem=STEM):
    """ademxapp's ``Module.save_params`` names (``arg:`` / ``aux:``) ->
    numpy float32 (tensors for a :class:`Shapes` ``rng``). ``head``: None,
    'cls' (``linear{C}`` FC) or 'seg' (``conv6a`` + 3x3 ``linear{C}``)."""
    p = {'arg:conv1a_weight': rng.conv(stem, 3, 3)}

    def bn(name, c):
        v = rng.bn(c)
        p.update(
            {
                f'arg:{name}_gamma': v['weight'],
                f'arg:{name}_beta': v['bias'],
                f'aux:{name}_moving_mean': v['running_mean'],
                f'aux:{name}_moving_var': v['running_var'],
            }
        )

    for level, u, cin, widths in units(channels=channels, stem=stem):
        uid = 'a' if u == 0 else f'b{u}'
        prev = cin
        for i, (w, k) in enumerate(zip(widths, kernels(widths))):
            bn(f'bn{level}{uid}_{BRANCHES[i]}', prev)
            p[f'arg:res{level}{uid}_{BRANCHES[i]}_weight'] = rng.conv(w, prev, k)
            prev = w
        if u == 0:
            p[f'arg:res{level}{uid}_branch1_weight'] = rng.conv(widths[-1], cin, 1)
    bn('bn7', channels[-1][-1])
    if head == 'cls':
        p[f'arg:linear{classes}_weight'] = rng.normal(classes, channels[-1][-1], std=0.05)
        p[f'arg:linear{classes}_bias'] = rng.normal(classes, std=0.1)
    elif head == 'seg':
        p['arg:conv6a_weight'] = rng.conv(head_channels, channels[-1][-1], 3)
        p['arg:conv6a_bias'] = rng.normal(head_channels, std=0.1)
        p[f'arg:linear{classes}_weight'] = rng.conv(classes, head_channels, 3)
        p[f'arg:linear{classes}_bias'] = rng.normal(classes, std=0.1)
    if isinstance(rng, Shapes):
        return p
    return {k: v.numpy().astype(np.float32) for k, v in p.items()}


# rna_feat_a / rna_feat_a1 level blocks 1-5 (level 1 = the stem): how each
# downsamples after ('p' pooling) or at the start of the next level ('c'),
# and whether that downsampling becomes dilation
ADEMXAPP_LEVEL_BLOCKS = {
    ('a', 32): [('p', False)] * 5,
    ('a', 16): [('p', False)] * 4 + [('p', True)],
    ('a1', 32): [('c', False)] * 5,
    ('a1', 16): [('c', False)] * 4 + [('c', True)],
    ('a1', 8): [('c', False)] * 3 + [('c', True)] * 2,
}


def ademxapp_forward(params, x, variant, output_stride, eps=1.001e-5, layout=UNITS):
    """ademxapp's ``rna_feat`` (+ ``rn_top`` / ``fcn_top`` when the file has
    the head): BN -> ReLU -> conv stages, the shortcut on the first stage's
    output, stride-2 max-pools without padding (the released Model A),
    dilation from the level whose downsampling is removed (its first conv keeps
    the previous dilation)."""
    p = {k.split(':', 1)[1]: torch.from_numpy(v) for k, v in params.items()}
    blocks = [None] + ADEMXAPP_LEVEL_BLOCKS[(variant, output_stride)] + [('n', False)] * 2

    def bn_relu(x, name):
        return F.relu(
            F.batch_norm(
                x,
                p[f'{name}_moving_mean'],
                p[f'{name}_moving_var'],
                p[f'{name}_gamma'],
                p[f'{name}_beta'],
                False,
                0.0,
                eps,
            )
        )

    def res_block(x, name, n_convs, stride=1, dilate=1, inc_dilate=False):
        factor = 1
        if inc_dilate:
            factor, stride = stride, 1
        pre = bn_relu(x, f'bn{name}_branch2a')
        out = conv(pre, p[f'res{name}_branch2a_weight'], stride, dilate)
        for i in range(1, n_convs):
            out = bn_relu(out, f'bn{name}_{BRANCHES[i]}')
            out = conv(out, p[f'res{name}_{BRANCHES[i]}_weight'], 1, dilate * factor)
        # a level's first block has identity_map=False: a projection shortcut
        proj = p.get(f'res{name}_branch1_weight')
        short = x if proj is None else conv(pre, proj, stride)
        return out + short

    def pool_after(x, level, dilate):
        kind, inc = blocks[level]
        if kind != 'p':
            return x, dilate
        if inc:  # stride-1 pool, padded to keep the size
            return F.max_pool2d(x, 3, 1, dilate, dilate), dilate * 2
        return F.max_pool2d(x, 3, 2, 0), dilate

    outs = {}
    x = conv(x, p['conv1a_weight'])
    outs[0] = x
    x, dilate = pool_after(x, 1, 1)
    for level, n in zip(LEVELS, layout):
        n_convs = 3 if level >= 6 else 2
        kind, inc = blocks[level - 1]
        if kind == 'c':
            x = res_block(x, f'{level}a', n_convs, 2, dilate, inc)
            dilate = dilate * 2 if inc else dilate
        else:
            x = res_block(x, f'{level}a', n_convs, 1, dilate)
        for u in range(1, n):
            x = res_block(x, f'{level}b{u}', n_convs, dilate=dilate)
        if level < 7:
            outs[level - 1] = x
            x, dilate = pool_after(x, level, dilate)
    outs[6] = bn_relu(x, 'bn7')
    linear = [k for k in p if k.startswith('linear') and k.endswith('_weight')]
    if linear and 'conv6a_weight' in p:
        h = F.relu(conv(outs[6], p['conv6a_weight'], dilation=12, bias=p['conv6a_bias']))
        outs['logits'] = conv(h, p[linear[0]], dilation=12, bias=p[linear[0][:-6] + 'bias'])
    elif linear:
        outs['logits'] = F.linear(outs[6].mean((2, 3)), p[linear[0]], p[linear[0][:-6] + 'bias'])
    return outs


def write_ndarray_list(path, params):
    """Save ``{name: float32 array}`` as MXNet's ``nd.save`` does (V2 arrays)."""
    with open(path, 'wb') as f:
        f.write(struct.pack('<QQQ', 0x112, 0, len(params)))
        for arr in params.values():
            arr = np.ascontiguousarray(arr, np.float32)
            f.write(struct.pack('<Ii', 0xF993FAC9, 0))
            f.write(struct.pack('<i', arr.ndim) + struct.pack(f'<{arr.ndim}q', *arr.shape))
            f.write(struct.pack('<iii', 1, 0, 0))  # cpu(0), float32
            f.write(arr.tobytes())
        f.write(struct.pack('<Q', len(params)))
        for name in params:
            data = name.encode()
            f.write(struct.pack('<Q', len(data)) + data)


# ------------------------------------------------------------------ IABN and NV
def iabn_body(rng, fmt='iabn', classes=0, channels=CHANNELS, stem=STEM):
    """WiderResNet / WiderResNetA2 state dict in IABN's names (``fmt='nv'``:
    NVIDIA's, whose BN + ReLU is a Sequential: ``bn1.0.weight``)."""
    sd = {'mod1.conv1.weight': rng.conv(stem, 3, 3)}
    sep = '.0.' if fmt == 'nv' else '.'

    def bn(name, c):
        sd.update({f'{name}{sep}{k}': v for k, v in rng.bn(c).items()})

    for level, u, cin, widths in units(channels=channels, stem=stem):
        prefix, prev = f'mod{level}.block{u + 1}', cin
        for i, (w, k) in enumerate(zip(widths, kernels(widths)), 1):
            bn(f'{prefix}.bn1' if i == 1 else f'{prefix}.convs.bn{i}', prev)
            sd[f'{prefix}.convs.conv{i}.weight'] = rng.conv(w, prev, k)
            prev = w
        if u == 0:
            sd[f'{prefix}.proj_conv.weight'] = rng.conv(widths[-1], cin, 1)
    bn('bn_out', channels[-1][-1])
    if classes:
        sd['classifier.fc.weight'] = rng.normal(classes, channels[-1][-1], std=0.05)
        sd['classifier.fc.bias'] = rng.normal(classes, std=0.1)
    return sd


def abn(x, p, eps=1e-5, inplace=True, slope=0.01):
    """IABN's activated BN in eval: in-place ABN scales by ``|weight| + eps``."""
    scale = p['weight'].abs() + eps if inplace else p['weight']
    return F.leaky_relu(batch_norm(x, p, eps, scale), slope)


def bn_relu(x, p, eps=1e-5):
    """NVIDIA's ``bnrelu``: BatchNorm2d + ReLU."""
    return F.relu(batch_norm(x, p, eps))


def iabn_forward(sd, x, arch, dilation=False, fmt='iabn', norm_act=None):
    """IABN's ``WiderResNet`` (``arch='a'``: a 3x3/2 max-pool with padding 1
    before mod2-mod6, no strides, no dilation) or ``WiderResNetA2``
    (``'a2'``: pools before mod2, mod3; strided first blocks of mod4-mod6, or
    with ``dilation``: only mod4's, dilation 2 in mod5 and 4 in mod6, mod7 on
    every 3x3). A block: bn1 -> proj_conv (when present) and the convs, the
    stride on the first conv (1x1 of a bottleneck), then the sum; ``bn_out``
    at the end, then average pooling + ``classifier.fc`` if present.
    ``norm_act``: IABN's in-place ABN by default, NV's BN + ReLU for 'nv'."""
    sep = '.0.' if fmt == 'nv' else '.'
    norm_act = norm_act or (bn_relu if fmt == 'nv' else abn)

    def bn(name):
        return {k: sd[f'{name}{sep}{k}'] for k in ('weight', 'bias', 'running_mean', 'running_var')}

    outs = {}
    x = conv(x, sd['mod1.conv1.weight'])
    outs[0] = x
    for mod_id, (level, n, widths) in enumerate(zip(LEVELS, UNITS, CHANNELS)):
        if (arch == 'a' and mod_id <= 4) or (arch == 'a2' and mod_id < 2):
            x = F.max_pool2d(x, 3, 2, 1)
        for b in range(n):
            if arch == 'a':
                stride, dil = 1, 1
            elif not dilation:
                stride, dil = (2 if b == 0 and 2 <= mod_id <= 4 else 1), 1
            else:
                stride = 2 if b == 0 and mod_id == 2 else 1
                dil = 2 if mod_id == 3 else 4 if mod_id > 3 else 1
            prefix = f'mod{level}.block{b + 1}'
            pre = norm_act(x, bn(f'{prefix}.bn1'))
            short = (
                conv(pre, sd[f'{prefix}.proj_conv.weight'], stride)
                if f'{prefix}.proj_conv.weight' in sd
                else x
            )
            out = conv(
                pre, sd[f'{prefix}.convs.conv1.weight'], stride, dil if len(widths) == 2 else 1
            )
            for i in range(2, len(widths) + 1):
                out = norm_act(out, bn(f'{prefix}.convs.bn{i}'))
                w = sd[f'{prefix}.convs.conv{i}.weight']
                out = conv(out, w, 1, dil if w.shape[-1] == 3 else 1)
            x = out + short
        if level < 7:
            outs[level - 1] = x
    outs[6] = norm_act(x, bn('bn_out'))
    if 'classifier.fc.weight' in sd:
        outs['logits'] = F.linear(
            outs[6].mean((2, 3)), sd['classifier.fc.weight'], sd['classifier.fc.bias']
        )
    return outs


def iabn_deeplab_head(rng, in_channels, hidden, classes, dilations=(12, 24, 36)):
    """IABN's ``DeeplabV3(in, hidden, hidden)`` and the snapshot's ``cls``."""
    head = {'map_convs.0.weight': rng.conv(hidden, in_channels, 1)}
    for i, _ in enumerate(dilations, 1):
        head[f'map_convs.{i}.weight'] = rng.conv(hidden, in_channels, 3)
    for name, c in (('map_bn', hidden * 4), ('global_pooling_bn', hidden), ('red_bn', hidden)):
        head.update({f'{name}.{k}': v for k, v in rng.bn(c).items()})
    head['global_pooling_conv.weight'] = rng.conv(hidden, in_channels, 1)
    head['red_conv.weight'] = rng.conv(hidden, hidden * 4, 1)
    head['pool_red_conv.weight'] = rng.conv(hidden, hidden, 1)
    cls = dict(weight=rng.conv(classes, hidden, 1), bias=rng.normal(classes, std=0.1))
    return head, cls


def iabn_deeplab_forward(head, cls, x, dilations=(12, 24, 36)):
    """IABN's DeeplabV3 with global image pooling (its training mode, and its
    eval mode without ``pooling_size``), then ``cls``."""

    def bn(name):
        return {k: head[f'{name}.{k}'] for k in ('weight', 'bias', 'running_mean', 'running_var')}

    maps = [conv(x, head['map_convs.0.weight'])]
    maps += [conv(x, head[f'map_convs.{i}.weight'], dilation=d) for i, d in enumerate(dilations, 1)]
    out = conv(abn(torch.cat(maps, 1), bn('map_bn')), head['red_conv.weight'])
    pool = x.mean((2, 3), keepdim=True)
    pool = abn(conv(pool, head['global_pooling_conv.weight']), bn('global_pooling_bn'))
    out = abn(out + conv(pool, head['pool_red_conv.weight']), bn('red_bn'))
    return conv(out, cls['weight'], bias=cls['bias'])


# ------------------------------------------------------------------------- PSA
PSA_BRANCH = {1: 'branch2a', 2: 'branch2b1', 3: 'branch2b2'}


def psa_state(rng, cam_classes=20, channels=CHANNELS, stem=STEM):
    """PSA's ``resnet38d.Net`` (+ ``resnet38_cls``' CAM classifier ``fc8``)."""
    sd = {'conv1a.weight': rng.conv(stem, 3, 3)}
    for level, u, cin, widths in units(channels=channels, stem=stem):
        prefix, prev = f'b{level}' + (f'_{u}' if u else ''), cin
        for i, (w, k) in enumerate(zip(widths, kernels(widths)), 1):
            sd.update({f'{prefix}.bn_{PSA_BRANCH[i]}.{n}': v for n, v in rng.bn(prev).items()})
            sd[f'{prefix}.conv_{PSA_BRANCH[i]}.weight'] = rng.conv(w, prev, k)
            prev = w
        if u == 0:
            sd[f'{prefix}.conv_branch1.weight'] = rng.conv(widths[-1], cin, 1)
    sd.update({f'bn7.{n}': v for n, v in rng.bn(channels[-1][-1]).items()})
    if cam_classes:
        sd['fc8.weight'] = rng.conv(cam_classes, channels[-1][-1], 1)
    return sd


def psa_forward(sd, x, eps=1e-5):
    """PSA's ``resnet38d.Net``: ResBlocks b2-b4 with a strided first block, b5
    not strided (first conv dilation 1, then 2), bottlenecks b6 (stride 1) and
    b7 with dilation 4; ``relu(bn7(.))``. BN eps 1e-5 (nn.BatchNorm2d)."""

    def bn_relu(x, name):
        return F.relu(
            batch_norm(
                x,
                {k: sd[f'{name}.{k}'] for k in ('weight', 'bias', 'running_mean', 'running_var')},
                eps,
            )
        )

    outs = {}
    x = conv(x, sd['conv1a.weight'])
    outs[0] = x
    for level, n, widths in zip(LEVELS, UNITS, CHANNELS):
        for u in range(n):
            name = f'b{level}' + (f'_{u}' if u else '')
            stride = 2 if u == 0 and level <= 4 else 1
            dilation = {5: 2, 6: 4, 7: 4}.get(level, 1)
            first_dilation = 1 if level == 5 and u == 0 else dilation
            pre = bn_relu(x, f'{name}.bn_branch2a')
            short = (
                conv(pre, sd[f'{name}.conv_branch1.weight'], stride)
                if f'{name}.conv_branch1.weight' in sd
                else x
            )
            if len(widths) == 2:
                out = conv(pre, sd[f'{name}.conv_branch2a.weight'], stride, first_dilation)
                out = conv(
                    bn_relu(out, f'{name}.bn_branch2b1'),
                    sd[f'{name}.conv_branch2b1.weight'],
                    1,
                    dilation,
                )
            else:
                out = conv(pre, sd[f'{name}.conv_branch2a.weight'], stride)
                out = conv(
                    bn_relu(out, f'{name}.bn_branch2b1'),
                    sd[f'{name}.conv_branch2b1.weight'],
                    1,
                    dilation,
                )
                out = conv(
                    bn_relu(out, f'{name}.bn_branch2b2'), sd[f'{name}.conv_branch2b2.weight']
                )
            x = out + short
        if level < 7:
            outs[level - 1] = x
    outs[6] = bn_relu(x, 'bn7')
    return outs
