import pytest
import torch
import torch.nn as nn

from mmwrn.models import PreActResidualUnit, WideResNet_CIFAR


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('depth,k,millions', [(28, 10, 36.5), (16, 8, 11.0), (40, 4, 8.9)])
def test_param_count_with_cifar_head(depth, k, millions):
    model = WideResNet_CIFAR(depth=depth, widen_factor=k)
    total = n_params(model) + 64 * k * 10 + 10  # + FC for CIFAR-10
    assert abs(total / 1e6 - millions) < 0.05


def test_wrn_28_10_exact_count():
    # stem 432; units: (3x3 convs + BN + projections), BN-out 1280; FC 6410
    assert n_params(WideResNet_CIFAR(depth=28, widen_factor=10)) + 6410 == 36_479_194


def test_shapes_and_dropout():
    model = WideResNet_CIFAR(depth=16, widen_factor=2, drop_rate=0.3, out_indices=(0, 1, 2, 3))
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (16, 32, 32),
        (32, 32, 32),
        (64, 16, 16),
        (128, 8, 8),
    ]
    assert (outs[-1] >= 0).all()
    units = [m for m in model.modules() if isinstance(m, PreActResidualUnit)]
    assert len(units) == 6 and all(u.dropout.p == 0.3 for u in units)
    assert all(isinstance(u.dropout, nn.Dropout) for u in units)
    assert model.group2[0].conv1.stride == (2, 2) and model.group1[0].conv1.stride == (1, 1)


def test_identity_shortcut_when_width_unchanged():
    model = WideResNet_CIFAR(depth=10, widen_factor=1)
    assert model.group1[0].shortcut is None
    assert model.group2[0].shortcut is not None


def test_frozen_and_norm_eval():
    model = WideResNet_CIFAR(depth=10, widen_factor=1, frozen_stages=1, norm_eval=True)
    model.train()
    assert not any(p.requires_grad for p in model.group1.parameters())
    assert all(p.requires_grad for p in model.group2.parameters())
    assert not model.group3[0].norm1.training


@pytest.mark.parametrize(
    'kwargs',
    [
        dict(out_indices=(1, 3)),
        dict(out_indices=(0, 2), frozen_stages=1),  # group3 and norm_out not built
    ],
)
def test_norm_act_identical_to_plain(kwargs):
    kwargs = dict(depth=10, widen_factor=1, drop_rate=0.3, **kwargs)
    results = []
    plain = WideResNet_CIFAR(**kwargs)
    norm_act = WideResNet_CIFAR(with_cp='norm_act', **kwargs)
    norm_act.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 16, 16)
    for model in (plain, norm_act):
        torch.manual_seed(1)
        outs = model.train()(x)
        (outs[0].square().sum() + outs[1].sum()).backward()
        results.append(
            [o.detach() for o in outs]
            + [p.grad for p in model.parameters()]
            + list(model.buffers())
        )
    assert any(p.grad is not None for p in plain.parameters())
    assert all(a is b is None or torch.equal(a, b) for a, b in zip(*results))


@pytest.mark.parametrize(
    'out_indices,groups',
    [
        ((3,), ('group1', 'group2', 'group3', 'norm_out')),
        ((0, 1, 2), ('group1', 'group2')),
        ((1,), ('group1',)),
        ((0,), ()),
    ],
)
def test_only_the_groups_up_to_the_deepest_output_are_built(out_indices, groups):
    model = WideResNet_CIFAR(depth=10, widen_factor=1, out_indices=out_indices)
    built = {name for name, _ in model.named_children()}
    assert built & {'group1', 'group2', 'group3', 'norm_out'} == set(groups)
    full = WideResNet_CIFAR(depth=10, widen_factor=1, out_indices=(0, 1, 2, 3))
    model.load_state_dict(full.state_dict())
    x = torch.randn(2, 3, 16, 16)
    full_outs, outs = full(x), model(x)
    for i, out in zip(out_indices, outs):
        torch.testing.assert_close(out, full_outs[i])
    sum(o.mean() for o in outs).backward()
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(ValueError, match=f'-1..{max(out_indices)} for out_indices'):
        WideResNet_CIFAR(
            depth=10, widen_factor=1, out_indices=out_indices, frozen_stages=max(out_indices) + 1
        )


def test_frozen_stages_of_a_truncated_network():
    model = WideResNet_CIFAR(depth=10, widen_factor=1, out_indices=(1, 2), frozen_stages=2).train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_pretrained_argument():
    with pytest.warns(UserWarning, match='pretrained is a deprecated') as record:
        model = WideResNet_CIFAR(depth=10, pretrained='wrn.pth')
    assert {w.filename for w in record if 'pretrained' in str(w.message)} == {
        WideResNet_CIFAR.__init__.__code__.co_filename
    }
    assert model.init_cfg == dict(type='Pretrained', checkpoint='wrn.pth')
    with pytest.raises(ValueError, match='cannot be set at the same time'):
        WideResNet_CIFAR(depth=10, pretrained='wrn.pth', init_cfg=dict(type='Pretrained'))


@pytest.mark.parametrize(
    'kwargs,words',
    [
        (dict(depth=27), ['6n + 4']),
        (dict(widen_factor=0), ['positive']),
        (dict(out_indices=(4,)), ['0 (stem) .. 3']),
        (dict(frozen_stages=5), ['-1..3']),
        (dict(with_cp='yes'), ["'norm_act'"]),
        (dict(with_cp='yes', out_indices=(0,)), ["'norm_act'"]),  # no unit built
    ],
)
def test_invalid_arguments(kwargs, words):
    with pytest.raises(ValueError) as info:
        WideResNet_CIFAR(**kwargs)
    for w in words:
        assert w in str(info.value)
