"""Parameter and multiply-add counts, computed on the meta device (no memory,
no arithmetic), so that the 100M-parameter presets count in milliseconds."""

import torch
import torch.nn as nn


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def count_macs(model, input_shape, forward=None):
    """Multiply-adds of every Conv2d and Linear for one input of
    ``input_shape`` (N, C, H, W). ``forward(model, x)`` runs the model
    (default: ``model(x)``); returns ``(macs, outputs)``. The model is moved to
    the meta device."""
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total[0] += output.numel() * module.in_channels // module.groups * k
        else:
            total[0] += output.numel() * module.in_features

    model = model.to('meta')
    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear))
    ]
    try:
        with torch.no_grad():
            x = torch.empty(*input_shape, device='meta')
            outs = forward(model, x) if forward else model(x)
    finally:
        for h in handles:
            h.remove()
    return total[0], outs
