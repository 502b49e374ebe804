"""The paper's segmenter (Model A1, output stride 8, "2 conv." head) computes
the same loss and gradients on a GPU as on the CPU, in channels_last as in
NCHW, and compiled as eager: fp32 without TF32, real widths on the GPU (the
``cuda`` tests), tiny widths in the CPU runs of the same checks."""
import copy

import pytest
import torch

from tests.device_helpers import (assert_grads_close, devices, exact_fp32, loss_and_grads,
                                  paper_segmenter)

# Where two runs are compared: no dropout (its draws differ between devices
# and runs); mmseg's cross-entropy (the bootstrapped loss selects its pixels by
# a threshold, where last-bit differences may swap a pixel); the frozen BN with
# the init's statistics (BN statistics calibrated on a fixed batch leave the
# tiny networks near-zero variances that amplify last-bit differences to 1e-2
# relative gradient errors, measured).
NO_DROPOUT = dict(drop_rates=(0, ) * 6)
CROSS_ENTROPY = dict(loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))


@pytest.mark.cuda
def test_segmenter_on_cuda_matches_cpu():
    model, batch = paper_segmenter('cuda', head=CROSS_ENTROPY, **NO_DROPOUT)
    cpu_model = copy.deepcopy(model).cpu()
    with exact_fp32():
        loss, grads, feat = loss_and_grads(model, batch)
        ref_loss, ref_grads, ref_feat = loss_and_grads(cpu_model, batch)
    assert feat.is_cuda and feat.shape[1] == 4096
    torch.testing.assert_close(feat.cpu(), ref_feat, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-4, atol=0)
    assert_grads_close(grads, ref_grads, rtol=1e-3)


@pytest.mark.parametrize('device', devices())
def test_channels_last_same_loss_and_gradients(device):
    """On CPU with torch's native kernels: oneDNN (torch 2.14.1) corrupts the
    heap computing the weight gradient of a stride-2 1x1 conv in channels_last
    with few channels (plain torch reproduces it: ``F.conv2d(x, w, stride=2)``,
    x 2x8x64x64, w 4x8x1x1 requiring grad, both channels_last), i.e. the tiny
    networks' projection shortcuts."""
    model, batch = paper_segmenter(device, head=CROSS_ENTROPY, **NO_DROPOUT)
    with exact_fp32(), torch.backends.mkldnn.flags(enabled=device != 'cpu'):
        ref_loss, ref_grads, ref_feat = loss_and_grads(model, batch)
        model.to(memory_format=torch.channels_last)
        loss, grads, feat = loss_and_grads(model, batch, torch.channels_last)
    # no op of the backbone falls back to NCHW (a copy per layer on a GPU)
    assert feat.is_contiguous(memory_format=torch.channels_last)
    assert not feat.is_contiguous()
    torch.testing.assert_close(feat, ref_feat, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(loss, ref_loss, rtol=1e-5, atol=0)
    assert_grads_close(grads, ref_grads, rtol=1e-4)


@pytest.mark.parametrize('device', devices())
def test_compiled_backbone_same_outputs_and_gradients(device):
    """torch.compile of the backbone in training, as one graph (fullgraph: no
    graph break in mmwrn's code), forward and backward. On a GPU with inductor;
    on CPU with aot_eager (the same tracing of mmwrn's code without inductor's
    C++ compile, minutes on 2 cores). ``with_cp=False``: the configs'
    ``'norm_act'`` runs each unit eagerly (a graph break per unit, by design:
    tests/test_models/test_norm_act_recompute.py compiles it)."""
    model, batch = paper_segmenter(device, with_cp=False, **NO_DROPOUT)
    backbone = model.backbone
    x = model.data_preprocessor(batch, True)['inputs']
    compiled = torch.compile(backbone, fullgraph=True,
                             backend='inductor' if device == 'cuda' else 'aot_eager')
    backbone.train()  # the paper's training mode: BN frozen (norm_eval)
    outs = []
    with exact_fp32():
        for net in (backbone, compiled):
            backbone.zero_grad(set_to_none=True)
            out = net(x)[-1]
            out.square().mean().backward()
            outs.append((out.detach(), {n: p.grad.clone() for n, p
                                        in backbone.named_parameters()}))
    (ref, ref_grads), (out, grads) = outs
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    assert_grads_close(grads, ref_grads, rtol=1e-4)
