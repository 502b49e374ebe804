"""PSA's CAM classifier (jiwoon-ahn/psa ``network/resnet38_cls.py``) as an
mmpretrain multi-label head."""

from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.structures import label_to_onehot

from mmwrn.registry import register_model


@register_model(hosts=('mmpretrain',))
class CAMClsHead(MultiLabelClsHead):
    """Multi-label head that also gives class activation maps (CAMs).

    Training and ``predict``: channel dropout on the feature map (PSA's
    ``dropout7``, ``nn.Dropout2d``), global average pooling, a bias-free 1x1
    conv ``fc8`` -> one logit per class; the loss (mmpretrain's sigmoid
    cross-entropy by default) is averaged over classes and images, which is
    PyTorch's ``multilabel_soft_margin_loss`` (PSA's). :meth:`cams`: ``fc8`` applied to
    the feature map before pooling, then ReLU (PSA's ``forward_cam``).

    Args:
        num_classes (int): Foreground classes (20 for VOC).
        in_channels (int): Channels of the backbone's last output.
        dropout (float): ``Dropout2d`` rate before pooling (PSA: 0.5).
            Default: 0.5.
        loss (dict): Multi-label loss. Default: ``dict(type='CrossEntropyLoss',
            use_sigmoid=True)``.
        thr (float, optional) / topk (int, optional): as
            ``MultiLabelClsHead``. Default: None (threshold 0.5).
        init_cfg (dict): ``fc8`` is Xavier-uniform initialised as in PSA.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        dropout: float = 0.5,
        loss: dict = dict(type='CrossEntropyLoss', use_sigmoid=True),
        thr: Optional[float] = None,
        topk: Optional[int] = None,
        init_cfg: Optional[dict] = dict(type='Xavier', layer='Conv2d', distribution='uniform'),
    ):
        super().__init__(loss=loss, thr=thr, topk=topk, init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.fc8 = nn.Conv2d(in_channels, num_classes, 1, bias=False)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The last backbone output, a ``(N, C, H, W)`` feature map."""
        x = feats[-1]
        if x.dim() != 4:
            raise ValueError(
                f'{type(self).__name__} needs a feature map (N, C, H, W), '
                f'got shape {tuple(x.shape)}: build the classifier without a neck'
            )
        return x

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        x = self.dropout(self.pre_logits(feats)).mean((2, 3), keepdim=True)
        return self.fc8(x).flatten(1)

    def _get_loss(self, cls_score, data_samples, **kwargs):
        # mmpretrain's multi-label loss averages over images only (a sum over
        # classes); PSA's multilabel_soft_margin_loss also over classes
        kwargs.setdefault('avg_factor', cls_score.numel())
        target = torch.stack(
            [
                s.gt_score.float()
                if 'gt_score' in s
                else label_to_onehot(s.gt_label, cls_score.size(1)).float()
                for s in data_samples
            ]
        )
        return dict(loss=self.loss_module(cls_score, target, **kwargs))

    def cams(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """``(N, num_classes, H, W)`` CAMs at the feature map's resolution."""
        return F.relu(F.conv2d(self.pre_logits(feats), self.fc8.weight))
