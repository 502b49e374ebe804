"""Softmax cross-entropy with online bootstrapping, as ademxapp trains its
segmenters."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwrn.registry import register_model
from ..utils.args import check_number, got


@register_model(hosts=('mmseg',))
class BootstrappedCrossEntropyLoss(nn.Module):
    """Cross-entropy over the hard pixels of the batch.

    A pixel is kept when the softmax probability of its true class is at most
    ``thresh``; when fewer than ``min_kept`` pixels of the whole batch pass,
    the ``min_kept`` hardest (lowest true-class probability) are kept
    instead. The loss is the mean over kept pixels (MXNet's
    ``normalization='valid'``); ignored pixels never count.

    Compared with mmseg's ``OHEMPixelSampler(thresh, min_kept)`` +
    ``CrossEntropyLoss``: that keeps ``prob < max(thresh, p_k)`` with ``k =
    min_kept`` *per image*, and averages over all pixels of the batch, kept or
    not, so its loss scale changes with the number of hard pixels.

    Args:
        thresh (float): Probability threshold. Default: 0.6.
        min_kept (int): Minimum kept pixels per batch. Default: 256.
        loss_weight (float): Weight of the loss. Default: 1.0.
        loss_name (str): Name in the log (mmseg sums losses of equal names).
            Default: ``'loss_ce'``.
    """

    def __init__(self, thresh=0.6, min_kept=256, loss_weight=1.0, loss_name='loss_ce'):
        super().__init__()
        if isinstance(thresh, bool) or not isinstance(thresh, (int, float)):
            raise TypeError(f'thresh must be a float in (0, 1], got {got(thresh)}')
        if not 0 < thresh <= 1:
            raise ValueError(f'thresh must be in (0, 1], got {thresh}')
        check_number('min_kept', min_kept, int, 0)
        check_number('loss_weight', loss_weight, float)
        if not isinstance(loss_name, str):
            raise TypeError(f"loss_name must be a str (e.g. 'loss_ce'), got {got(loss_name)}")
        self.thresh = thresh
        self.min_kept = int(min_kept)
        self.loss_weight = loss_weight
        self._loss_name = loss_name

    def forward(self, cls_score, label, weight=None, ignore_index=255, **kwargs):
        if weight is not None:
            raise ValueError(
                'BootstrappedCrossEntropyLoss selects its own pixels; '
                'do not combine it with a pixel sampler'
            )
        if kwargs:
            raise TypeError(f'unexpected arguments {sorted(kwargs)}')
        valid = label != ignore_index
        nll = F.cross_entropy(cls_score, label.masked_fill(~valid, 0), reduction='none')[valid]
        if nll.numel() == 0:
            return cls_score.sum() * 0
        keep = torch.exp(-nll.detach()) <= self.thresh
        if int(keep.sum()) < self.min_kept:
            hardest = nll.detach().topk(min(self.min_kept, nll.numel())).indices
            keep = torch.zeros_like(keep).index_fill_(0, hardest, True)
        return self.loss_weight * nll[keep].mean()

    @property
    def loss_name(self):
        return self._loss_name
