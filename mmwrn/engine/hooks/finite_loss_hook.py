"""Stop training at the first non-finite loss, weight or statistic, before a
checkpoint of the broken model is written."""

import itertools
import os.path as osp

import torch
from mmengine.hooks import Hook

from mmwrn.registry import register_hook


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss, weight or BN statistic."""


def non_finite_tensors(module):
    """Names of the floating-point parameters and buffers of ``module`` that
    hold a NaN or an infinity (one device synchronisation per call)."""
    named = [
        (n, t)
        for n, t in itertools.chain(module.named_parameters(), module.named_buffers())
        if t.is_floating_point()
    ]
    if not named:
        return []
    device = named[0][1].device
    flags = torch.stack([torch.isfinite(t).all().to(device) for _, t in named]).tolist()
    return [n for (n, _), ok in zip(named, flags) if not ok]


@register_hook
class FiniteLossHook(Hook):
    """Stop training when the loss, or any weight or BN statistic after the
    optimiser step, is NaN or infinite; raises :class:`NonFiniteLossError`
    naming the iteration (as logged, from 1), the loss terms and the first
    tensors concerned, and the last checkpoint of the work dir to resume from.

    Without it mmengine trains on with a NaN loss (NaN input, a diverging
    learning rate) and keeps saving checkpoints of the broken model. The hook
    runs after each training iteration at priority ``ABOVE_NORMAL``, before
    ``CheckpointHook`` (``VERY_LOW``), so the checkpoint due at that iteration
    is not written and ``--resume`` continues from the last good one. A
    non-finite gradient shows as non-finite weights once the optimiser has
    applied it; steps that AMP's loss scaler skips (infinite fp16 gradients)
    leave the weights finite and are not errors. The check costs one pass of
    ``isfinite`` over the weights and one device synchronisation per iteration.

    On in the shipped configs (``configs/_base_/guards.py``); switch it off
    with ``--cfg-options custom_hooks=[]`` or by leaving it out of
    ``custom_hooks``.

    Args:
        check_weights (bool): also check the weights and buffers after each
            step (catches non-finite gradients). Defaults to True.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, check_weights=True):
        if not isinstance(check_weights, bool):
            raise TypeError(
                f'check_weights must be a bool, got '
                f'{type(check_weights).__name__} {check_weights!r}'
            )
        self.check_weights = check_weights

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        losses = {k: torch.as_tensor(v).detach() for k, v in (outputs or {}).items() if 'loss' in k}
        bad_losses = {
            k: v.float().mean().item()
            for k, v in losses.items()
            if not bool(torch.isfinite(v).all())
        }
        bad_tensors = non_finite_tensors(runner.model) if self.check_weights else []
        if not (bad_losses or bad_tensors):
            return
        where = f'iteration {runner.iter + 1}'
        if not runner.train_loop.__class__.__name__.startswith('IterBased'):
            where += f' (epoch {runner.epoch + 1})'
        parts = []
        if bad_losses:
            terms = ', '.join(f'{k}={v}' for k, v in bad_losses.items())
            parts.append(f'non-finite loss ({terms})')
        if bad_tensors:
            more = f' and {len(bad_tensors) - 3} more' if len(bad_tensors) > 3 else ''
            parts.append(
                f'{len(bad_tensors)} non-finite weights/statistics after the step '
                f'({", ".join(bad_tensors[:3])}{more})'
            )
        raise NonFiniteLossError(
            f'training stopped at {where}: {"; ".join(parts)}. No checkpoint of this '
            f'iteration was written; {self._resume_point(runner)} Look for NaN/inf in the '
            'input data, a too high learning rate or a missing gradient clip '
            '(optim_wrapper.clip_grad).'
        )

    @staticmethod
    def _resume_point(runner):
        pointer = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            with open(pointer) as f:
                last = f.read().strip()
            if last:
                return f'the last good checkpoint is {last} (--resume continues from it).'
        return 'no checkpoint had been saved yet.'
