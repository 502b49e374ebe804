"""with_cp='norm_act' (norm + activation recomputed in backward, convs not):
the same outputs, gradients, BN statistics and random stream as the plain unit,
bit for bit, while autograd keeps only the norms' inputs."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn as nn

from mmwrn.models import PreActResidualUnit
from mmwrn.models.utils.norm_act_recompute import act_keeping_mask

B33_PROJ = dict(in_channels=4, channels=(6, 8), stride=2)
B131 = dict(in_channels=4, channels=(4, 6, 8), drop_rate=0.3)


def train_step(unit, x, *, x_grad=True, seed=1, amp=False, fmt=torch.contiguous_format, model=None):
    """One forward + backward of ``model`` (default: ``unit``) in the modes the
    caller set: output, input gradient, parameter gradients, buffers and the
    random generator's state after."""
    model = unit if model is None else model
    unit.zero_grad(set_to_none=True)
    unit.to(memory_format=fmt)
    torch.manual_seed(seed)
    xi = x.clone().to(memory_format=fmt).requires_grad_(x_grad)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=amp):
        y = model(xi)
    # a loss whose gradient differs at every position
    (y.float() * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
    return dict(
        out=y.detach(),
        x_grad=xi.grad,
        rng=torch.get_rng_state(),
        grads={n: p.grad for n, p in unit.named_parameters()},
        buffers={n: b.clone() for n, b in unit.named_buffers()},
    )


def pair(cfg, **kwargs):
    plain = PreActResidualUnit(**cfg, **kwargs)
    norm_act = PreActResidualUnit(**cfg, with_cp='norm_act', **kwargs)
    norm_act.load_state_dict(plain.state_dict())
    return plain.train(), norm_act.train()


def assert_identical(ref, res):
    """Everything bit for bit (torch.equal): the same ops on the same values."""
    assert torch.equal(ref['out'], res['out'])
    assert (ref['x_grad'] is None) == (res['x_grad'] is None)
    if ref['x_grad'] is not None:
        assert torch.equal(ref['x_grad'], res['x_grad'])
        assert ref['x_grad'].stride() == res['x_grad'].stride()
    for name, g in ref['grads'].items():
        if g is None:
            assert res['grads'][name] is None, name
        else:
            assert torch.equal(g, res['grads'][name]), name
    for name, b in ref['buffers'].items():
        assert torch.equal(b, res['buffers'][name]), f'buffer {name}'
    # the backward's dropout replay leaves the random stream where it was
    assert torch.equal(ref['rng'], res['rng'])


@pytest.mark.parametrize(
    'cfg',
    [
        dict(in_channels=8, channels=(8, 8)),  # b33, identity shortcut
        B33_PROJ,  # b33, strided projection
        dict(in_channels=8, channels=(8, 8), dilations=(2, 4), drop_rate=0.5),
        B131,  # b131, projection, element dropout
        dict(in_channels=8, channels=(4, 6, 8), stride=2, drop_rate=0.3, dropout_type='channel'),
        dict(B131, act_cfg=dict(type='LeakyReLU', negative_slope=0.1, inplace=True)),
        dict(B131, act_cfg=dict(type='PReLU')),  # an activation with parameters
        dict(B131, norm_cfg=dict(type='GN', num_groups=2)),
        dict(B131, norm_cfg=dict(type='mmwrn.SyncBN')),  # single process: plain BN
    ],
)
def test_unit_identical_to_plain(cfg):
    plain, norm_act = pair(cfg)
    x = torch.randn(2, cfg['in_channels'], 9, 9)
    ref = train_step(plain, x)
    assert_identical(ref, train_step(norm_act, x))
    assert all(g is not None for g in ref['grads'].values())


def test_dropout_mask_is_replayed_not_redrawn():
    plain, norm_act = pair(dict(in_channels=8, channels=(8, 8), drop_rate=0.5))
    x = torch.randn(2, 8, 9, 9)
    ref = train_step(plain, x, seed=1)
    assert_identical(ref, train_step(norm_act, x, seed=1))
    # another seed is another mask: the comparison above can tell them apart
    assert not torch.equal(
        ref['grads']['conv1.weight'], train_step(plain, x, seed=2)['grads']['conv1.weight']
    )


@pytest.mark.parametrize('cfg', [B33_PROJ, B131])
def test_channels_last_and_bf16_autocast(cfg):
    plain, norm_act = pair(cfg)
    x = torch.randn(2, 4, 9, 9)
    for kwargs in (
        dict(fmt=torch.channels_last),
        dict(amp=True),
        dict(amp=True, fmt=torch.channels_last),
    ):
        ref = train_step(plain, x, **kwargs)
        assert_identical(ref, train_step(norm_act, x, **kwargs))
    assert ref['out'].dtype == torch.bfloat16
    assert ref['out'].is_contiguous(memory_format=torch.channels_last)


def test_frozen_norms_and_parameters():
    """BN in eval mode (norm_eval) and parameters without gradients
    (frozen_stages), with or without an input gradient."""
    plain, norm_act = pair(B131)
    x = torch.randn(2, 4, 9, 9)
    for unit in (plain, norm_act):
        unit.norm1.eval()
        for p in (unit.norm2.weight, unit.norm2.bias, unit.conv1.weight):
            p.requires_grad = False
    for x_grad in (True, False):
        ref = train_step(plain, x, x_grad=x_grad)
        assert_identical(ref, train_step(norm_act, x, x_grad=x_grad))
        assert ref['grads']['conv1.weight'] is None and ref['grads']['norm1.weight'] is not None


def test_fully_frozen_unit_builds_no_graph():
    _, norm_act = pair(B131)
    norm_act.requires_grad_(False)
    with torch.autograd.graph.saved_tensors_hooks(pytest.fail, pytest.fail):
        assert not norm_act.train()(torch.randn(2, 4, 9, 9)).requires_grad


def test_torch_compile():
    if not hasattr(torch, 'compile'):
        pytest.skip('torch.compile is not available')
    plain, norm_act = pair(B131)
    x = torch.randn(2, 4, 9, 9)
    ref = train_step(plain, x)
    # the unit runs eagerly under compile (a graph break): eager's results
    assert_identical(ref, train_step(norm_act, x, model=torch.compile(norm_act)))


def saved_storages(module, x, fn=None):
    """Shapes of the distinct non-parameter storages autograd keeps from
    ``fn(x)`` (default: ``module(x)``): what its backward needs."""
    params = {p.untyped_storage().data_ptr() for p in module.parameters()}
    kept = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params and t.dim() == 4:
            kept.setdefault(ptr, tuple(t.shape))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        (module if fn is None else fn)(x)
    return sorted(kept.values())


@pytest.mark.parametrize(
    'cfg,plain,norm_act',
    [
        # unit input x; activation a1 (conv1 + shortcut input); conv1 output c1; a2
        (B33_PROJ, [(2, 4, 16, 16)] * 2 + [(2, 6, 8, 8)] * 2, [(2, 4, 16, 16), (2, 6, 8, 8)]),
        # x, a1, c1, a2 (4 channels); c2, a3, the dropout mask (float on CPU) and
        # the dropout output (6 channels)
        (
            B131,
            [(2, 4, 16, 16)] * 4 + [(2, 6, 16, 16)] * 4,
            [(2, 4, 16, 16), (2, 4, 16, 16), (2, 6, 16, 16)],
        ),
    ],
)
def test_saved_tensors_per_mode(cfg, plain, norm_act):
    x = torch.randn(2, 4, 16, 16, requires_grad=True)
    units = {
        mode: PreActResidualUnit(**cfg, with_cp=mode).train() for mode in (False, True, 'norm_act')
    }
    assert saved_storages(units[False], x) == sorted(plain)
    assert saved_storages(units[True], x) == [(2, 4, 16, 16)]  # the unit input
    # the norms' inputs: x, c1 (, c2)
    assert saved_storages(units['norm_act'], x) == sorted(norm_act)


def test_retain_graph_backward_twice():
    plain, norm_act = pair(dict(in_channels=8, channels=(8, 8), drop_rate=0.5))
    x = torch.randn(2, 8, 9, 9)
    grads = []
    for unit in (plain, norm_act):
        torch.manual_seed(3)
        y = unit.train()(x)
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        grads.append(unit.conv1.weight.grad)
    assert torch.equal(*grads)


def test_invalid_with_cp_and_conv_lists_choices():
    with pytest.raises(ValueError, match=r"False, True, 'norm_act'.*got 'norm'"):
        PreActResidualUnit(4, (8, 8), with_cp='norm')
    with pytest.raises(ValueError, match='Conv2dAdaptivePadding.*with_cp=True'):
        PreActResidualUnit(
            4, (8, 8), with_cp='norm_act', conv_cfg=dict(type='Conv2dAdaptivePadding')
        )


def _syncbn_rank(rank, port, results):
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        plain, norm_act = pair(B131, norm_cfg=dict(type='mmwrn.SyncBN'))
        x = torch.randn(4, 4, 9, 9)[2 * rank : 2 * rank + 2]  # each rank its half
        ref, res = train_step(plain, x), train_step(norm_act, x)
        assert_identical(ref, res)
        results[rank] = ref['buffers']['norm1.running_mean']
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_mmwrn_syncbn_two_processes():
    """Recomputing a synchronised BN in backward all-reduces again, in step
    on every rank: the same results as without recomputation."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_syncbn_rank, args=(port, results), nprocs=2)
        # the statistics are those of the global batch on both ranks
        assert torch.equal(results[0], results[1])


@pytest.mark.parametrize('act', [nn.ReLU(inplace=True), nn.LeakyReLU(0.01), nn.ELU()])
@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_act_keeping_mask(act, dtype):
    """The activation's output and gradient bit for bit (zeros, NaN and inf
    included), keeping a bool mask instead of the output where it can."""
    x = torch.randn(2, 3, 4, 4, dtype=dtype)
    x[0, 0, 0, :3] = torch.tensor([float('nan'), 0.0, -0.0])
    grad = torch.randn_like(x)
    grad[0, 0, 1, 0] = float('inf')

    def run(fn):
        """``fn``'s output, the input's gradient and the dtypes of the tensors
        autograd keeps for the backward."""
        xi = x.clone().requires_grad_()
        kept = []
        with torch.autograd.graph.saved_tensors_hooks(
            lambda t: kept.append(t.dtype) or t, lambda t: t
        ):
            y = fn(xi * 1)
        y.backward(grad)
        return y.detach(), xi.grad, kept

    (y1, g1, _), (y2, g2, kept2) = run(act), run(lambda t: act_keeping_mask(t, act))
    assert torch.equal(y1.nan_to_num(), y2.nan_to_num()) and torch.equal(y1.isnan(), y2.isnan())
    assert torch.equal(g1.nan_to_num(), g2.nan_to_num()) and torch.equal(g1.isnan(), g2.isnan())
    assert kept2 == ([dtype] if isinstance(act, nn.ELU) else [torch.bool])


@pytest.mark.parametrize(
    'cfg', [B33_PROJ, dict(B131, stride=2), dict(in_channels=4, channels=(4, 4))]
)  # identity shortcut
def test_source_keeps_only_it(cfg):
    """With ``source=(s, fns)`` every stage recomputes its norm's input from
    ``s`` (WiderResNet: the image, through the stem conv): the unit keeps
    only ``s``, with the results of the plain unit."""
    stem = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    plain, norm_act = pair(cfg)
    image = torch.randn(2, 3, 16, 16)
    ref = train_step(plain, image, model=lambda s: plain(stem(s)))
    res = train_step(
        norm_act, image, model=lambda s: norm_act.forward_norm_act(stem(s), source=(s, (stem,)))
    )
    assert_identical(ref, res)
    kept = saved_storages(
        nn.ModuleList([stem, norm_act]),
        image.requires_grad_(),
        lambda s: norm_act.forward_norm_act(stem(s), source=(s, (stem,))),
    )
    assert kept == [tuple(image.shape)]
