"""Activation checkpointing that leaves the BN running statistics as without it."""

from contextlib import contextmanager

import torch
import torch.utils.checkpoint as cp
from torch.nn.modules.batchnorm import _BatchNorm


@contextmanager
def running_stats_kept(*modules):
    """Restore the BN running statistics of ``modules`` on exit."""
    bns = [
        m
        for module in modules
        for m in module.modules()
        if isinstance(m, _BatchNorm) and m.track_running_stats and m.training
    ]
    saved = [
        (m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in bns
    ]
    try:
        yield
    finally:
        for m, (mean, var, count) in zip(bns, saved):
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.num_batches_tracked.copy_(count)


def needs_grad(x, *modules):
    """Whether running ``modules`` on ``x`` builds an autograd graph."""
    return torch.is_grad_enabled() and (
        x.requires_grad or any(p.requires_grad for m in modules for p in m.parameters())
    )


def recompute(fn, x, *modules):
    """``fn(x)`` whose activations are recomputed in backward instead of kept
    (``torch.utils.checkpoint``, non-reentrant).

    ``modules`` hold the BN layers ``fn`` runs: the recomputation must not
    update their running statistics a second time (which would make
    checkpointing change the trained model). Outputs, gradients, RNG (dropout)
    and BN statistics are the same as ``fn(x)``'s."""
    calls = []

    def run(inp):
        if calls:
            with running_stats_kept(*modules):
                return fn(inp)
        calls.append(True)
        return fn(inp)

    return cp.checkpoint(run, x, use_reentrant=False)
