import pytest
import torch
import torch.nn as nn

from mmwrn.models import PreActResidualUnit, WideResNet


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize('depth,k,millions', [(28, 10, 36.5), (16, 8, 11.0), (40, 4, 8.9)])
def test_param_count_with_cifar_head(depth, k, millions):
    model = WideResNet(depth=depth, widen_factor=k)
    total = n_params(model) + 64 * k * 10 + 10  # + FC for CIFAR-10
    assert abs(total / 1e6 - millions) < 0.05


def test_wrn_28_10_exact_count():
    # stem 432; units: (3x3 convs + BN + projections), BN-out 1280; FC 6410
    assert n_params(WideResNet(depth=28, widen_factor=10)) + 6410 == 36_479_194


def test_shapes_and_dropout():
    model = WideResNet(depth=16, widen_factor=2, drop_rate=0.3, out_indices=(0, 1, 2, 3))
    outs = model(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape[1:]) for o in outs] == [(16, 32, 32), (32, 32, 32), (64, 16, 16),
                                                  (128, 8, 8)]
    assert (outs[-1] >= 0).all()
    units = [m for m in model.modules() if isinstance(m, PreActResidualUnit)]
    assert len(units) == 6 and all(u.dropout.p == 0.3 for u in units)
    assert all(isinstance(u.dropout, nn.Dropout) for u in units)
    assert model.group2[0].conv1.stride == (2, 2) and model.group1[0].conv1.stride == (1, 1)


def test_identity_shortcut_when_width_unchanged():
    model = WideResNet(depth=10, widen_factor=1)
    assert model.group1[0].shortcut is None
    assert model.group2[0].shortcut is not None


def test_frozen_and_norm_eval():
    model = WideResNet(depth=10, widen_factor=1, frozen_stages=1, norm_eval=True)
    model.train()
    assert not any(p.requires_grad for p in model.group1.parameters())
    assert all(p.requires_grad for p in model.group2.parameters())
    assert not model.group3[0].norm1.training


def test_norm_act_identical_to_plain():
    kwargs = dict(depth=10, widen_factor=1, drop_rate=0.3, out_indices=(1, 3))
    results = []
    plain = WideResNet(**kwargs)
    norm_act = WideResNet(with_cp='norm_act', **kwargs)
    norm_act.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 16, 16)
    for model in (plain, norm_act):
        torch.manual_seed(1)
        outs = model.train()(x)
        (outs[0].square().sum() + outs[1].sum()).backward()
        results.append([o.detach() for o in outs] + [p.grad for p in model.parameters()]
                       + list(model.buffers()))
    assert all(torch.equal(a, b) for a, b in zip(*results))


@pytest.mark.parametrize('kwargs,words', [
    (dict(depth=27), ['6n + 4']),
    (dict(widen_factor=0), ['positive']),
    (dict(out_indices=(4, )), ['0 (stem) .. 3']),
    (dict(frozen_stages=5), ['-1..3']),
    (dict(with_cp='yes'), ["'norm_act'"]),
])
def test_invalid_arguments(kwargs, words):
    with pytest.raises(ValueError) as info:
        WideResNet(**kwargs)
    for w in words:
        assert w in str(info.value)
