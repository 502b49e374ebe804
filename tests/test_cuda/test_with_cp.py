"""``with_cp`` (``True``: whole units checkpointed; ``'norm_act'``: norm +
activation recomputed) in the paper's segmenter: the same loss, gradients and
BN statistics as without it (dropout and BN training included), and on a GPU
at most half (``True``) and 0.6x (``'norm_act'``) the peak memory of a
training step at the configs' batch (4 x 504 x 504)."""

import copy

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from tests.helpers.device import (
    NUM_CLASSES,
    PAPER_SEG,
    assert_grads_close,
    build_segmenter,
    devices,
    exact_fp32,
    loss_and_grads,
    paper_config,
    paper_segmenter,
    set_with_cp,
)
from tests.helpers.seg import make_batch


@pytest.mark.parametrize('device', devices())
def test_with_cp_same_loss_gradients_and_bn_statistics(device):
    # BN trained (not frozen) so that its running statistics are checked too
    model, batch = paper_segmenter(device, norm_eval=False)
    initial = copy.deepcopy(model.state_dict())
    results = []
    with exact_fp32():
        for with_cp in (False, True, 'norm_act'):
            model.load_state_dict(initial)
            set_with_cp(model, with_cp)
            torch.manual_seed(1)  # the same dropout draws
            loss, grads, _ = loss_and_grads(model, batch)
            buffers = {n: b.clone() for n, b in model.named_buffers()}
            results.append((loss, grads, buffers))
    assert model.backbone.b3[1].with_cp == 'norm_act'
    (ref_loss, ref_grads, ref_buffers), *others = results
    for loss, grads, buffers in others:
        torch.testing.assert_close(loss, ref_loss)
        assert_grads_close(grads, ref_grads, rtol=1e-6)
        for name, ref in ref_buffers.items():
            torch.testing.assert_close(buffers[name], ref, msg=name)


@pytest.mark.cuda
def test_with_cp_halves_peak_cuda_memory_at_batch_4_504():
    model = build_segmenter(paper_config(tiny=False, size=504), 'cuda')
    batch = make_batch(NUM_CLASSES, batch=4, size=504)
    optim_wrapper = build_optim_wrapper(model, Config.fromfile(PAPER_SEG).optim_wrapper)
    peaks = {}
    for with_cp in (False, True, 'norm_act'):
        set_with_cp(model, with_cp)
        model.train_step(batch, optim_wrapper)  # optimizer state, cuDNN plans
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        model.train_step(batch, optim_wrapper)
        torch.cuda.synchronize()
        peaks[with_cp] = torch.cuda.max_memory_allocated() / 2**20
    ratio = peaks[True] / peaks[False]
    assert ratio <= 0.5, (
        f'with_cp peak {peaks[True]:.0f} MiB vs {peaks[False]:.0f} MiB without: {ratio:.2f}x'
    )
    # 0.59x measured on the CPU heap (docs/en/advanced_guides/training_memory.md)
    ratio = peaks['norm_act'] / peaks[False]
    assert ratio <= 0.6, (
        f"with_cp='norm_act' peak {peaks['norm_act']:.0f} MiB vs "
        f'{peaks[False]:.0f} MiB without: {ratio:.2f}x'
    )
