"""The paper's segmenter trains in mixed precision with mmengine's
AmpOptimWrapper (``tools/train.py --amp``): fp16 (dynamic loss scaling) and
bf16 on a GPU, bf16 on CPU; the losses stay finite and fall on a fixed batch."""

import math

import pytest
import torch
from mmengine.optim.optimizer import amp_optimizer_wrapper

from tests.helpers.device import amp_losses, calibrate_bn, paper_segmenter

STEPS = 10


@pytest.mark.parametrize(
    'device,dtype',
    [
        # mmengine's CPU autocast is bf16 only; several training steps: slow on CPU
        pytest.param('cpu', 'bfloat16', marks=pytest.mark.slow),
        pytest.param('cuda', 'bfloat16', marks=pytest.mark.cuda),
        pytest.param('cuda', 'float16', marks=pytest.mark.cuda),
    ],
)
def test_amp_training_steps(device, dtype, monkeypatch):
    if device == 'cpu':
        # AmpOptimWrapper asserts an accelerator at construction; everything
        # it does then (mmengine's autocast, on CPU bf16; the grad scaler,
        # disabled by torch without CUDA) runs on CPU: patch that check only
        monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)
    model, batch = paper_segmenter(device)
    calibrate_bn(model, batch)
    conv_dtypes = []
    model.backbone.b4[0].conv1.register_forward_hook(
        lambda m, i, out: conv_dtypes.append(out.dtype)
    )
    losses, wrapper = amp_losses(model, batch, dtype, STEPS)
    assert conv_dtypes and set(conv_dtypes) == {getattr(torch, dtype)}, 'autocast not active'
    assert all(math.isfinite(v) for v in losses), losses
    assert min(losses[-2:]) < 0.9 * losses[0], f'loss does not fall: {losses}'
    assert all(p.dtype == torch.float32 for p in model.parameters()), 'fp32 master weights'
    if dtype == 'float16':
        scale = wrapper.loss_scaler.get_scale()
        assert wrapper.loss_scaler.is_enabled() and 1 <= scale <= 2.0**16, scale
