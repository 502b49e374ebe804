"""Synchronised batch norm that also synchronises CPU tensors."""

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn
from torch.nn.modules.batchnorm import _BatchNorm

from mmwrn.registry import MODELS


@MODELS.register_module(name='SyncBN')
class SyncBatchNorm(_BatchNorm):
    """Synchronised BatchNorm that works on any device, CPU (gloo) included.

    torch's ``nn.SyncBatchNorm`` refuses CPU inputs and DDP refuses it in CPU
    modules, so a CPU multi-process run cannot synchronise BN with it. This
    layer all-reduces the per-channel sum, sum of squares and count
    (differentiably, so gradients flow through the global statistics) and
    normalises with the statistics of the global batch, updating the running
    statistics as torch does (unbiased variance). Outside distributed training
    it is a plain BatchNorm. Use it as ``norm_cfg=dict(type='mmwrn.SyncBN')``
    for CPU runs; on GPUs mmcv's ``SyncBN`` (torch's fused kernels) is faster.

    Args: as ``nn.BatchNorm2d``, plus ``process_group`` (default: the world).
    """

    def __init__(
        self,
        num_features,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_running_stats=True,
        process_group=None,
        **kwargs,
    ):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, **kwargs)
        self.process_group = process_group

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f'expected at least 2D input (got {x.dim()}D input)')

    def _needs_sync(self):
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return False
        return dist.get_world_size(self.process_group or dist.group.WORLD) > 1

    def forward(self, x):
        if not self._needs_sync():
            return super().forward(x)
        self._check_input_dim(x)
        channels = x.shape[1]
        dims = [0] + list(range(2, x.dim()))
        local = torch.cat([x.sum(dims), (x * x).sum(dims), x.new_full((1,), x.numel() / channels)])
        total = dist_fn.all_reduce(local, group=self.process_group or dist.group.WORLD)
        count = total[-1]
        mean = total[:channels] / count
        var = total[channels : 2 * channels] / count - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = (
                    1.0 / float(self.num_batches_tracked)
                    if self.momentum is None
                    else self.momentum
                )
                self.running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
                unbiased = var.detach() * count / (count - 1).clamp(min=1)
                self.running_var.mul_(1 - momentum).add_(unbiased * momentum)
        shape = [1, channels] + [1] * (x.dim() - 2)
        out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out
