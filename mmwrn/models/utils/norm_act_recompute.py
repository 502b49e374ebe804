"""Norm -> activation -> [dropout] -> conv(s) that keeps only the norm's input
for backward and recomputes norm + activation (+ dropout) there.

In a pre-activation network every conv stage would keep two tensors for
backward: the norm's input ``x`` and the activation output (the conv's input,
which its weight gradient needs). Norm and activation are cheap, memory-bound
operations, so :func:`norm_act_conv` keeps only ``x`` and gives the conv input
back in backward by running norm + activation again, without recomputing the
convs (``torch.utils.checkpoint`` around norm + activation alone would not
help: the conv would still keep its input).
"""

from contextlib import ExitStack, contextmanager
from functools import partial
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .recompute import running_stats_kept


def check_recomputable_conv(conv: nn.Module, name: str) -> None:
    """Raise if ``conv`` is not a convolution whose backward
    :func:`norm_act_conv` can compute (``nn.Conv2d`` with zero padding)."""
    if (
        type(conv).forward is not nn.Conv2d.forward
        or conv.bias is not None
        or conv.padding_mode != 'zeros'
        or isinstance(conv.padding, str)
    ):
        raise ValueError(
            f"with_cp='norm_act' computes the convs' backward itself and supports "
            f'torch.nn.Conv2d without bias, with zero padding given as ints '
            f"(conv_cfg None, dict(type='Conv') or dict(type='Conv2d')); {name} is "
            f'{type(conv).__name__}: use with_cp=True (or False) with this conv_cfg'
        )


def _autocast_state(device_type):
    """(enabled, dtype, cache) of autocast for ``device_type``, torch 2.1+."""
    try:
        enabled = torch.is_autocast_enabled(device_type)
        dtype = torch.get_autocast_dtype(device_type)
    except (TypeError, AttributeError):  # torch < 2.4: per-device functions
        if device_type == 'cpu':
            enabled, dtype = torch.is_autocast_cpu_enabled(), torch.get_autocast_cpu_dtype()
        else:
            enabled, dtype = torch.is_autocast_enabled(), torch.get_autocast_gpu_dtype()
    return enabled, dtype, torch.is_autocast_cache_enabled()


def _rng_module(device):
    return torch if device.type == 'cpu' else getattr(torch, device.type)


def _get_rng_state(device):
    if device.type == 'cpu':
        return torch.get_rng_state()
    return _rng_module(device).get_rng_state(device)


@contextmanager
def _rng_state_set(device, state):
    """Run with the random generator of ``device`` set to ``state``; its
    state before is restored on exit (the program's random stream goes on
    as if nothing had been drawn)."""
    if state is None:
        yield
        return
    now = _get_rng_state(device)
    args = () if device.type == 'cpu' else (device,)
    _rng_module(device).set_rng_state(state, *args)
    try:
        yield
    finally:
        _rng_module(device).set_rng_state(now, *args)


class _Stage:
    """The modules of one stage; the tensors autograd sees are the Function's
    inputs ``x`` and ``params`` (in this order)."""

    def __init__(self, norm, act, convs, dropout, source_fns):
        self.norm, self.act, self.convs = norm, act, tuple(convs)
        self.dropout, self.source_fns = dropout, tuple(source_fns)
        act_params = tuple(act.parameters()) if isinstance(act, nn.Module) else ()
        # non-conv parameters (their gradients come from autograd on the
        # recomputed norm + activation), then the conv weights
        self.other_params = tuple(norm.parameters()) + act_params
        self.params = self.other_params + tuple(c.weight for c in self.convs)
        # whose BN statistics the recomputation must leave as they are
        self.modules = (norm,) + tuple(m for m in self.source_fns if isinstance(m, nn.Module))

    def conv_input(self, x):
        x = self.act(self.norm(x))
        return x if self.dropout is None else self.dropout(x)

    def recompute_x(self, source):
        for fn in self.source_fns:
            source = fn(source)
        return source


class _NormActConv(torch.autograd.Function):
    """``tuple(conv(dropout(act(norm(x)))) for conv in convs)``, keeping only
    ``x`` or the ``source`` it is recomputed from (and the random state where
    dropout draws)."""

    @staticmethod
    def forward(ctx, stage, x, source, *params):
        ctx.stage = stage
        ctx.autocast = _autocast_state(x.device.type)
        draws = stage.dropout is not None and stage.dropout.training and stage.dropout.p > 0
        ctx.rng = _get_rng_state(x.device) if draws else None
        d = stage.conv_input(x)
        outs = tuple(conv(d) for conv in stage.convs)
        ctx.save_for_backward(x if source is None else source)
        ctx.set_materialize_grads(False)
        return outs

    @staticmethod
    @once_differentiable
    def backward(ctx, *grads):
        (x,) = ctx.saved_tensors
        stage = ctx.stage
        need = (ctx.needs_input_grad[1],) + ctx.needs_input_grad[3:]  # x, *params
        n_other = 1 + len(stage.other_params)  # x and the non-conv parameters
        need_d = any(need[:n_other])  # a gradient through norm + activation
        enabled, dtype, cache = ctx.autocast
        autocast = partial(
            torch.autocast, x.device.type, dtype=dtype, enabled=enabled, cache_enabled=cache
        )
        with ExitStack() as stack:
            # BN keeps its running statistics for backward: restore them (one
            # update per step) only once autograd.grad has run
            for m in stage.modules:
                stack.enter_context(running_stats_kept(m))
            if stage.source_fns:
                with torch.no_grad(), autocast():
                    x = stage.recompute_x(x)
            targets = [t for t, n in zip((x,) + stage.other_params, need) if n]
            if need[0]:
                targets[0] = x = x.detach().requires_grad_()
            with torch.set_grad_enabled(need_d), _rng_state_set(x.device, ctx.rng), autocast():
                d = stage.conv_input(x)
            grad_d, grad_w = None, []
            for conv, g, need_w in zip(stage.convs, grads, need[n_other:]):
                if g is None or not (need_d or need_w):
                    grad_w.append(None)
                    continue
                # what autograd calls for a conv (ConvolutionBackward0), on the
                # tensors the conv ran on (cast as autocast cast them)
                gi, gw, _ = torch.ops.aten.convolution_backward(
                    g,
                    d.detach().to(g.dtype),
                    conv.weight.to(g.dtype),
                    None,
                    conv.stride,
                    conv.padding,
                    conv.dilation,
                    False,
                    [0, 0],
                    conv.groups,
                    [need_d, need_w, False],
                )
                grad_w.append(None if gw is None else gw.to(conv.weight.dtype))
                if gi is not None:  # autocast's cast back, then the sum over convs
                    gi = gi.to(d.dtype)
                    grad_d = gi if grad_d is None else grad_d.add_(gi)
                del gi
            grad_other = iter(
                torch.autograd.grad(d, targets, grad_d)
                if grad_d is not None
                else [None] * len(targets)
            )
        grad_x, *grad_other = [next(grad_other) if n else None for n in need[:n_other]]
        return (None, grad_x, None, *grad_other, *grad_w)


def norm_act_conv(
    x: torch.Tensor,
    norm: nn.Module,
    act: Callable,
    convs: Sequence[nn.Conv2d],
    dropout: Optional[nn.Module] = None,
    source: Optional[Tuple[torch.Tensor, Sequence[Callable]]] = None,
):
    """Run ``h = dropout(act(norm(x)))`` and every conv on ``h``, keeping for
    backward only ``x``: norm, activation and dropout are run again in
    backward, the convs are not.

    Outputs, gradients and BN running statistics are those of the plain
    computation: the recomputation calls the same modules (BN statistics
    restored after it, dropout with the random state of the forward, under the
    forward's autocast state), and the convs' gradients come from the ATen op
    autograd itself calls (``convolution_backward``). Norm layers of any kind
    (BN, SyncBN, GN, ...) and activations with or without parameters work; the
    convs must pass :func:`check_recomputable_conv`. Not twice differentiable.

    Args:
        x (Tensor): Input of the stage.
        norm (nn.Module): The norm layer.
        act (callable): The activation (a module or a function).
        convs (Sequence[nn.Conv2d]): Convs that all take the activation
            output (a unit's first conv and its projection shortcut).
        dropout (nn.Module, optional): Dropout between activation and convs.
        source (tuple[Tensor, Sequence[callable]], optional): ``(s, fns)``
            with ``x == fns[-1](...fns[0](s))``: keep ``s`` instead of ``x``
            and recompute ``x`` from it in backward (without gradient: ``x``'s
            gradient flows back through the graph that computed it). For a
            smaller ``s`` than ``x``, e.g. the image for the stem conv's output.
            ``fns`` must be deterministic; their BN statistics are left as
            they are. Default: None.

    Returns:
        tuple[Tensor]: The output of every conv.
    """
    s, fns = source if source is not None else (None, ())
    stage = _Stage(norm, act, convs, dropout, fns)
    return _NormActConv.apply(stage, x, s, *stage.params)


class _ActKeepingMask(torch.autograd.Function):
    """In-place ReLU / leaky ReLU that keeps a bool mask for backward, not its
    output; the gradient is what autograd's own backward computes."""

    @staticmethod
    def forward(ctx, x, negative_slope):
        out = torch.relu_(x) if negative_slope == 0 else F.leaky_relu_(x, negative_slope)
        ctx.mark_dirty(out)
        ctx.negative_slope = negative_slope
        # where autograd's threshold_backward / leaky_relu_backward pass the
        # gradient (``not result <= 0`` is True for NaN, as they treat it)
        ctx.save_for_backward(~(out <= 0) if negative_slope == 0 else out > 0)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        (passed,) = ctx.saved_tensors
        if ctx.negative_slope == 0:
            return grad.masked_fill(~passed, 0), None
        return torch.where(passed, grad, grad * ctx.negative_slope), None


def act_keeping_mask(x: torch.Tensor, act: Callable) -> torch.Tensor:
    """``act(x)`` that keeps for backward a bool mask (1 byte per element)
    instead of its output where ``act`` is an ``nn.ReLU`` or ``nn.LeakyReLU``
    (computed in place); other activations run as they are.

    An activation whose output feeds a conv outside the backbone (a head)
    would otherwise keep that output alive after the conv's backward freed
    it, until its own backward: the largest tensor at the start of backward."""
    if type(act) is nn.ReLU:
        return _ActKeepingMask.apply(x, 0.0)
    if type(act) is nn.LeakyReLU and act.negative_slope > 0:
        return _ActKeepingMask.apply(x, float(act.negative_slope))
    return act(x)
