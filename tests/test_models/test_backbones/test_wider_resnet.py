import math

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmwrn.models import PreActResidualUnit, WiderResNet
from tests.helpers.tiny import TINY_WIDER


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('depth,expected', [(38, 105_070_912), (20, 78_515_520), (16, 59_635_008)])
def test_param_count_matches_paper(depth, expected):
    for variant in ('a', 'a1', 'a2'):
        assert n_params(WiderResNet(depth=depth, variant=variant)) == expected


@pytest.mark.parametrize(
    'out_indices,levels',
    [
        ((6,), ('b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'bn7')),
        ((2, 3, 4, 5), ('b2', 'b3', 'b4', 'b5', 'b6')),
        ((4, 5), ('b2', 'b3', 'b4', 'b5', 'b6')),
        ((1, 3), ('b2', 'b3', 'b4')),
        ((0,), ()),
    ],
)
def test_only_the_levels_up_to_the_deepest_output_are_built(out_indices, levels):
    model = WiderResNet(variant='a', out_indices=out_indices, **TINY_WIDER)
    built = {name for name, _ in model.named_children()}
    assert built & {'b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'bn7'} == set(levels)
    assert {n for n in built if n.startswith('pool')} == {
        f'pool{level[1]}' for level in levels if level not in ('b7', 'bn7')
    }
    assert model.unbuilt_modules() == tuple(
        n for n in ('b2', 'b3', 'b4', 'b5', 'b6', 'b7', 'bn7') if n not in levels
    )
    assert model.out_channels == tuple(model.feat_channels[i] for i in out_indices)
    # the same function as the full network on the same weights, every parameter used
    full = WiderResNet(variant='a', out_indices=range(7), **TINY_WIDER)
    state = full.state_dict()
    model.load_state_dict(state)
    assert set(model.state_dict()) == {
        k for k in state if k.split('.')[0] in set(levels) | {'conv1a'}
    }
    x = torch.randn(2, 3, 32, 32)
    full_outs = full(x)
    outs = model(x)
    for i, out in zip(out_indices, outs):
        torch.testing.assert_close(out, full_outs[i])
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize('depth', [38, 16])
def test_four_levels_drop_b7(depth):
    full = n_params(WiderResNet(depth=depth))
    model = WiderResNet(depth=depth, out_indices=(2, 3, 4, 5))
    # B7: BN 2048 + 1x1 2048->1024, BN 1024 + 3x3 1024->2048, BN 2048 + 1x1 2048->4096,
    # projection 2048->4096; bn7 4096
    b7 = (
        2 * 2048
        + 2048 * 1024
        + 2 * 1024
        + 9 * 1024 * 2048
        + 2 * 2048
        + 2048 * 4096
        + 2048 * 4096
        + 2 * 4096
    )
    assert b7 == 37_767_168 and full - n_params(model) == b7
    assert model.out_channels == (256, 512, 1024, 2048)


def test_depth_attribute():
    assert WiderResNet(depth=38).depth == 38
    assert WiderResNet(depth=20).depth == 20
    assert WiderResNet(depth=16).depth == 16


SIZES = {  # input 64: expected sizes of outputs 0..6 per output stride
    32: (64, 32, 16, 8, 4, 2, 2),
    16: (64, 32, 16, 8, 4, 4, 4),
    8: (64, 32, 16, 8, 8, 8, 8),
}


@pytest.mark.parametrize('variant', ['a', 'a1', 'a2'])
@pytest.mark.parametrize('output_stride', [32, 16, 8])
@pytest.mark.parametrize('rule', ['ademxapp', 'iabn'])
def test_output_shapes_and_strides(variant, output_stride, rule):
    model = WiderResNet(
        variant=variant,
        output_stride=output_stride,
        dilation_rule=rule,
        out_indices=range(7),
        **TINY_WIDER,
    )
    outs = model(torch.randn(2, 3, 64, 64))
    assert len(outs) == 7
    for out, ch, size in zip(outs, model.feat_channels, SIZES[output_stride]):
        assert out.shape == (2, ch, size, size)
    assert model.feat_channels == (8, 4, 8, 8, 16, 32, 64)


def test_output_shapes_real_width_stride8():
    model = WiderResNet(output_stride=8, out_indices=(0, 1, 2, 3, 4, 5, 6))
    outs = model(torch.randn(1, 3, 40, 40))
    assert [o.shape[1] for o in outs] == [64, 128, 256, 512, 1024, 2048, 4096]
    assert [o.shape[-1] for o in outs] == [40, 20, 10, 5, 5, 5, 5]
    assert (outs[-1] >= 0).all(), 'index 6 is returned after bn7 + ReLU'


def test_model_a_pool_padding_zero_gives_released_sizes():
    model = WiderResNet(variant='a', pool_padding=0, out_indices=range(7), **TINY_WIDER)
    outs = model(torch.randn(1, 3, 224, 224))
    assert [o.shape[-1] for o in outs] == [224, 111, 55, 27, 13, 6, 6]
    model = WiderResNet(variant='a', pool_padding=1, out_indices=range(7), **TINY_WIDER)
    assert [o.shape[-1] for o in model(torch.randn(1, 3, 224, 224))] == [224, 112, 56, 28, 14, 7, 7]


def three_by_three_dilations(model):
    """Dilation of every 3x3 conv, read from the built modules, per level."""
    levels = []
    for name in ('b2', 'b3', 'b4', 'b5', 'b6', 'b7'):
        units = []
        for unit in getattr(model, name):
            convs = [unit.conv1, unit.conv2] + ([unit.conv3] if unit.num_convs == 3 else [])
            for c in convs:
                assert c.padding[0] == c.dilation[0] * (c.kernel_size[0] - 1) // 2
            units.append(tuple(c.dilation[0] for c in convs if c.kernel_size[0] == 3))
        levels.append(units)
    return levels


# Spec section 3, written out per 3x3 conv for depth 38 (B2-B4 all 1).
ONES = [[(1, 1)] * 3, [(1, 1)] * 3, [(1, 1)] * 6]
EXPECTED_DILATIONS = {
    ('ademxapp', 32): ONES + [[(1, 1)] * 3, [(1,)], [(1,)]],
    ('ademxapp', 16): ONES + [[(1, 1)] * 3, [(2,)], [(2,)]],
    ('ademxapp', 8): ONES + [[(1, 2), (2, 2), (2, 2)], [(4,)], [(4,)]],
    ('iabn', 32): ONES + [[(1, 1)] * 3, [(1,)], [(1,)]],
    ('iabn', 16): ONES + [[(1, 1)] * 3, [(2,)], [(2,)]],
    ('iabn', 8): ONES + [[(2, 2)] * 3, [(4,)], [(4,)]],
}


@pytest.mark.parametrize('rule,output_stride', list(EXPECTED_DILATIONS))
@pytest.mark.parametrize('variant', ['a1', 'a2'])
def test_dilation_of_every_3x3_conv(rule, output_stride, variant):
    model = WiderResNet(
        variant=variant, output_stride=output_stride, dilation_rule=rule, **TINY_WIDER
    )
    assert three_by_three_dilations(model) == EXPECTED_DILATIONS[rule, output_stride]
    # strides: first unit of B5 / B6 strided only where not dilated
    assert model.b5[0].conv1.stride[0] == (1 if output_stride == 8 else 2)
    assert model.b6[0].conv1.stride[0] == (2 if output_stride == 32 else 1)
    assert model.b5[0].shortcut.stride[0] == model.b5[0].conv1.stride[0]
    assert all(
        c.dilation[0] == 1
        for m in model.modules()
        if isinstance(m, nn.Conv2d) and m.kernel_size[0] == 1
        for c in [m]
    )


def test_model_a_dilated_pools_follow_ademxapp():
    model = WiderResNet(variant='a', output_stride=8, **TINY_WIDER)
    # pools before B5 and B6 become 3x3 stride-1 max-pools with the previous dilation
    for pool, dilation in ((model.pool5, 1), (model.pool6, 2)):
        pad, max_pool = pool
        assert pad.padding == (dilation,) * 4 and pad.value == float('-inf')
        assert (max_pool.kernel_size, max_pool.stride, max_pool.dilation) == (3, 1, dilation)
    assert model.pool4.stride == 2
    x = torch.randn(1, 3, 9, 9)
    ref = torch.nn.functional.max_pool2d(x, 3, 1, 0, dilation=2)  # centre region
    torch.testing.assert_close(model.pool6(x)[..., 2:-2, 2:-2], ref)
    # the pool took the downsampling, so every conv of the level is dilated
    assert three_by_three_dilations(model)[3:] == [[(2, 2)] * 3, [(4,)], [(4,)]]


def test_dropout_per_level_and_type():
    model = WiderResNet(drop_rates=(0, 0, 0, 0, 0.3, 0.5), **TINY_WIDER)
    assert model.b4[0].dropout is None
    assert isinstance(model.b6[0].dropout, nn.Dropout) and model.b6[0].dropout.p == 0.3
    assert model.b7[0].dropout.p == 0.5
    model = WiderResNet(drop_rates=(0, 0, 0, 0, 0.3, 0.5), dropout_type='channel', **TINY_WIDER)
    assert isinstance(model.b7[0].dropout, nn.Dropout2d)


def test_width_multiplier_follows_ademxapp():
    model = WiderResNet(width_multiplier=2.0)
    assert model.feat_channels == (128, 256, 512, 1024, 1024, 2048, 4096)
    assert model.b5[0].channels == (1024, 1024)
    model = WiderResNet(width_multiplier=0.5)
    assert model.b5[0].channels == (256, 512)
    assert model.feat_channels[0] == 32


def test_custom_layout():
    model = WiderResNet(
        depth=None,
        num_units=(1, 2, 1, 1, 1, 1),
        channels=((4, 4), (8, 8), (8, 8), (8, 8, 16), (8, 16), (8, 16, 32)),
        stem_channels=4,
    )
    assert model.b5[0].unit_type == 'b131' and model.b6[0].unit_type == 'b33'
    assert len(model.b3) == 2
    assert model(torch.randn(2, 3, 32, 32))[0].shape == (2, 32, 1, 1)


def test_units_and_shortcuts():
    model = WiderResNet(**TINY_WIDER)
    for level in (model.b2, model.b3, model.b4, model.b5, model.b6, model.b7):
        assert level[0].shortcut is not None
        for unit in level[1:]:
            assert unit.shortcut is None
        for m in level.modules():
            if isinstance(m, nn.Conv2d):
                assert m.bias is None


def test_unit_matches_hand_written_preactivation():
    unit = PreActResidualUnit(4, (6, 8), stride=2).eval()
    x = torch.randn(2, 4, 9, 9)
    pre = torch.relu(unit.norm1(x))
    ref = unit.conv2(torch.relu(unit.norm2(unit.conv1(pre)))) + unit.shortcut(pre)
    torch.testing.assert_close(unit(x), ref)
    assert unit(x).shape == (2, 8, 5, 5)


@pytest.mark.parametrize('out_indices', [(6,), (2, 3, 4, 5)])
def test_norm_eval_keeps_running_stats(out_indices):
    model = WiderResNet(norm_eval=True, out_indices=out_indices, **TINY_WIDER)
    model.train()
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    before = model.b3[0].norm1.running_mean.clone()
    model(torch.randn(2, 3, 32, 32)).__getitem__(0).sum().backward()
    torch.testing.assert_close(model.b3[0].norm1.running_mean, before)
    assert model.b3[0].norm1.weight.grad is not None, 'affine parameters still train'


@pytest.mark.parametrize(
    'out_indices,frozen_stages',
    [
        ((6,), -1),
        ((6,), 0),
        ((6,), 3),
        ((6,), 6),
        ((2, 3, 4, 5), 3),
        ((2, 3, 4, 5), 5),
        ((1, 2), 2),
    ],
)
def test_frozen_stages(out_indices, frozen_stages):
    model = WiderResNet(out_indices=out_indices, frozen_stages=frozen_stages, **TINY_WIDER)
    model.train()
    names = ['conv1a', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7'][: max(out_indices) + 1]
    for i, name in enumerate(names):
        frozen = i <= frozen_stages
        module = getattr(model, name)
        assert all(p.requires_grad != frozen for p in module.parameters())
        assert all(m.training != frozen for m in module.modules() if isinstance(m, _BatchNorm))
    if 6 in out_indices:
        assert model.bn7.weight.requires_grad == (frozen_stages < 6)
    if frozen_stages < max(out_indices):
        outs = model(torch.randn(2, 3, 32, 32))
        sum(o.mean() for o in outs).backward()
        trained = [n for n, p in model.named_parameters() if p.grad is not None]
        assert trained == [n for n, p in model.named_parameters() if p.requires_grad]


@pytest.mark.parametrize(
    'out_indices,frozen_stages,valid',
    [((2, 3, 4, 5), 6, '-1..5'), ((1, 2), 3, '-1..2'), ((0,), 1, '-1..0')],
)
def test_frozen_stages_beyond_the_built_levels(out_indices, frozen_stages, valid):
    with pytest.raises(ValueError) as info:
        WiderResNet(out_indices=out_indices, frozen_stages=frozen_stages, **TINY_WIDER)
    assert valid in str(info.value) and str(tuple(out_indices)) in str(info.value)


@pytest.mark.parametrize(
    'variant,out_indices,input_grad',
    [
        ('a1', (3, 6), True),  # stem recomputed with B2's first unit
        ('a', (3, 6), False),  # ... through the max-pool before B2
        ('a1', (0, 6), False),  # the stem output is returned: not recomputed
        ('a1', (2, 3, 4, 5), True),  # no B7: stem still recomputed, every unit checkpointed
        ('a', (1, 3), False),
    ],
)
def test_with_cp_same_outputs_gradients_and_bn_stats(variant, out_indices, input_grad):
    kwargs = dict(
        variant=variant, drop_rates=(0, 0, 0, 0, 0.3, 0.5), out_indices=out_indices, **TINY_WIDER
    )
    plain, ckpt = WiderResNet(**kwargs), WiderResNet(with_cp=True, **kwargs)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    results = []
    for model in (plain, ckpt):
        model.train()
        torch.manual_seed(1)
        xi = x.clone().requires_grad_(input_grad)
        outs = model(xi)
        (outs[0].square().mean() + sum(o.mean() for o in outs[1:])).backward()
        results.append(
            (
                outs,
                xi.grad,
                {n: p.grad for n, p in model.named_parameters()},
                {n: b.clone() for n, b in model.named_buffers()},
            )
        )
    (o1, gx1, g1, b1), (o2, gx2, g2, b2) = results
    for a, b in zip(o1, o2):
        torch.testing.assert_close(a, b)
    if input_grad:
        torch.testing.assert_close(gx1, gx2)
    for n in g1:
        assert g1[n] is not None, n
        torch.testing.assert_close(g1[n], g2[n], msg=n)
    for n in b1:
        torch.testing.assert_close(b1[n], b2[n], msg=f'BN buffer {n} differs with with_cp')


def saved_for_backward(model, x):
    """Shapes of the non-empty tensors autograd keeps from a forward of
    ``model`` (torch < 2.2's non-reentrant checkpoint also saves an empty
    placeholder per call, which holds no memory)."""
    shapes = []

    def pack(t):
        if t.numel():
            shapes.append(tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    return shapes


def test_with_cp_keeps_only_unit_inputs():
    x = torch.randn(2, 3, 32, 32)
    full_model = WiderResNet(**TINY_WIDER).train()
    units = [u for name in ('b2', 'b3', 'b4', 'b5', 'b6', 'b7') for u in getattr(full_model, name)]
    unit_inputs = []
    for unit in units:
        unit.register_forward_pre_hook(lambda m, args: unit_inputs.append(tuple(args[0].shape)))
    full = saved_for_backward(full_model, x)
    kept = saved_for_backward(WiderResNet(with_cp=True, **TINY_WIDER).train(), x)
    # B2's first unit recomputes the full-resolution stem output from the image
    assert kept[: len(units)] == [tuple(x.shape)] + unit_inputs[1:]
    assert all(len(s) == 1 or s == (2, 64, 1, 1) for s in kept[len(units) :])  # bn7
    assert (2, 8, 32, 32) in full and len(full) > 10 * len(kept)


def train_results(model, x, input_grad, seed=1):
    """Outputs, input gradient, parameter gradients and buffers of one
    training step (a loss over every output, different at every position)."""
    torch.manual_seed(seed)
    xi = x.clone().requires_grad_(input_grad)
    outs = model(xi)
    sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outs).backward()
    return (
        [o.detach() for o in outs],
        xi.grad,
        {n: p.grad for n, p in model.named_parameters()},
        {n: b.clone() for n, b in model.named_buffers()},
    )


@pytest.mark.parametrize(
    'kwargs,input_grad',
    [
        # stem recomputed with B2's first norm; dilation; dropout (mask replayed)
        (dict(variant='a1', output_stride=8, out_indices=(3, 6)), True),
        (dict(variant='a', out_indices=(6,)), False),  # ... through the max-pool
        (dict(variant='a2', out_indices=(0, 1, 6)), False),  # the stem output is returned
        (dict(variant='a1', frozen_stages=2, norm_eval=True), False),
        # only B2-B6 built (no B7, bn7), with and without a frozen stem + B2
        (dict(variant='a1', output_stride=8, out_indices=(2, 3, 4, 5)), True),
        (dict(variant='a', out_indices=(2, 3, 4, 5), frozen_stages=1), True),
        (dict(variant='a2', out_indices=(1, 3), frozen_stages=3, norm_eval=True), True),
        (
            dict(
                variant='a1',
                act_cfg=dict(type='LeakyReLU', negative_slope=0.01, inplace=True),
                norm_cfg=dict(type='GN', num_groups=2),
            ),
            True,
        ),
    ],
)
def test_norm_act_identical_to_plain(kwargs, input_grad):
    """Bit for bit: the same ops on the same values (see
    test_norm_act_recompute.py for the unit-level cases)."""
    kwargs = dict(drop_rates=(0, 0, 0, 0, 0.3, 0.5), **kwargs, **TINY_WIDER)
    plain, norm_act = WiderResNet(**kwargs), WiderResNet(with_cp='norm_act', **kwargs)
    norm_act.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    (o1, gx1, g1, b1), (o2, gx2, g2, b2) = (
        train_results(m.train(), x, input_grad) for m in (plain, norm_act)
    )
    assert all(torch.equal(a, b) for a, b in zip(o1, o2))
    assert gx1 is None if not input_grad else torch.equal(gx1, gx2)
    for n in g1:
        frozen = not dict(plain.named_parameters())[n].requires_grad
        assert (g1[n] is None) == frozen, n
        assert frozen or torch.equal(g1[n], g2[n]), n
    for n in b1:
        assert torch.equal(b1[n], b2[n]), f'BN buffer {n} differs with norm_act'


def test_norm_act_keeps_only_norm_inputs():
    """Per unit the input of every norm, but for B2's first unit only the
    image (the full-resolution stem output and the unit's conv1 output are
    recomputed from it); bn7's input and a 1-byte mask of act7."""
    x = torch.randn(2, 3, 32, 32)
    plain = WiderResNet(**TINY_WIDER).train()
    norm_inputs = []
    for name, m in plain.named_modules():
        if isinstance(m, _BatchNorm) and not name.startswith('b2.0.'):
            m.register_forward_pre_hook(lambda m, args: norm_inputs.append(args[0].shape))
    plain(x)
    model = WiderResNet(with_cp='norm_act', **TINY_WIDER).train()
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    kept = {}

    def pack(t):
        if t.dim() == 4 and t.untyped_storage().data_ptr() not in params:
            kept.setdefault(t.untyped_storage().data_ptr(), (tuple(t.shape), t.dtype))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x)
    expected = (
        [(tuple(x.shape), torch.float32)]
        + [(tuple(s), torch.float32) for s in norm_inputs]
        + [((2, 64, 1, 1), torch.bool)]
    )
    assert sorted(kept.values(), key=str) == sorted(expected, key=str)


@pytest.mark.parametrize(
    'norm_cfg,cls',
    [
        (dict(type='SyncBN'), nn.SyncBatchNorm),
        (dict(type='GN', num_groups=2), nn.GroupNorm),
        (dict(type='BN', eps=1.001e-5), nn.BatchNorm2d),
    ],
)
def test_norm_layers(norm_cfg, cls):
    model = WiderResNet(norm_cfg=norm_cfg, **TINY_WIDER)
    norms = [m for m in model.modules() if isinstance(m, (_BatchNorm, nn.GroupNorm))]
    assert norms and all(isinstance(m, cls) for m in norms)
    if 'eps' in norm_cfg:
        assert all(m.eps == 1.001e-5 for m in norms)
    if cls is nn.GroupNorm:
        assert model(torch.randn(1, 3, 32, 32))[0].shape == (1, 64, 1, 1)


def test_init_weights_kaiming_and_constant():
    model = WiderResNet(**TINY_WIDER)
    model.init_weights()
    w = model.b4[0].conv1.weight
    fan_out = w.shape[0] * w.shape[2] * w.shape[3]
    assert abs(w.std().item() - math.sqrt(2 / fan_out)) < 0.3 * math.sqrt(2 / fan_out)
    assert torch.all(model.b4[0].norm1.weight == 1)
    assert torch.all(model.bn7.bias == 0)


@pytest.mark.parametrize(
    'kwargs,exc,words',
    [
        (dict(depth=50), KeyError, ['16', '20', '38']),
        (dict(variant='b'), KeyError, ["'a'", "'a1'", "'a2'"]),
        (dict(output_stride=4), ValueError, ['32', '16', '8']),
        (dict(dilation_rule='nv'), ValueError, ['ademxapp', 'iabn']),
        (dict(out_indices=(7,)), ValueError, ['0', '6']),
        (dict(out_indices=()), ValueError, ['non-empty']),
        (dict(out_indices=(6, -1)), ValueError, ['duplicates']),
        (dict(drop_rates=(0.3, 0.5)), ValueError, ['B2-B7']),
        (dict(frozen_stages=7), ValueError, ['-1..6']),
        (dict(pool_padding=2), ValueError, ['0 or 1']),
        (dict(num_units=(1, 1, 1, 1, 1, 1)), ValueError, ['depth=None']),
        (dict(channels=((4, 4),) * 5), ValueError, ['six levels']),
        (dict(width_multiplier=(1, 2)), ValueError, ['stem, B2, B3, B4, B5']),
        (dict(dropout_type='spatial'), ValueError, ['element', 'channel']),
        (dict(with_cp='all'), ValueError, ['False', 'True', "'norm_act'"]),
        (dict(with_cp='all', out_indices=(0,)), ValueError, ["'norm_act'"]),  # no unit built
    ],
)
def test_invalid_arguments_list_valid_choices(kwargs, exc, words):
    with pytest.raises(exc) as info:
        WiderResNet(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_pretrained_argument_as_mmseg_backbones():
    with pytest.warns(UserWarning, match='pretrained is a deprecated') as record:
        model = WiderResNet(pretrained='ckpt.pth', **TINY_WIDER)
    # raised from the backbone's module, as mmseg's from its ResNet's
    assert {w.filename for w in record if 'pretrained' in str(w.message)} == {
        WiderResNet.__init__.__code__.co_filename
    }
    assert model.init_cfg == dict(type='Pretrained', checkpoint='ckpt.pth')
    assert WiderResNet(**TINY_WIDER).init_cfg[0] == dict(type='Kaiming', layer='Conv2d')
    custom = dict(type='Pretrained', checkpoint='x.pth', prefix='backbone.')
    assert WiderResNet(init_cfg=custom, **TINY_WIDER).init_cfg == custom
    with pytest.raises(ValueError, match='init_cfg and pretrained cannot be set'):
        WiderResNet(pretrained='ckpt.pth', init_cfg=custom, **TINY_WIDER)
    with pytest.raises(TypeError, match='str or None'):
        WiderResNet(pretrained=1, **TINY_WIDER)
    with pytest.raises(ValueError, match='are ResNet weights'):
        WiderResNet(pretrained='open-mmlab://resnet50_v1c', **TINY_WIDER)


def test_four_levels_halve_the_multiply_adds_of_depth16_os8():
    """What not building B7 saves where it is largest (the issue's criterion):
    depth 16, output stride 8, 512x512, conv multiply-adds on the meta device."""
    from mmwrn.utils.complexity import count_macs

    macs = {}
    for out_indices in ((2, 3, 4, 5), (2, 3, 4, 6)):
        with torch.device('meta'):
            model = WiderResNet(depth=16, output_stride=8, out_indices=out_indices)
        macs[out_indices] = count_macs(model, (1, 3, 512, 512))[0]
    assert macs[2, 3, 4, 5] <= 0.5 * macs[2, 3, 4, 6]
