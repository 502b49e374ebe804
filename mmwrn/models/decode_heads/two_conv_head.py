"""The segmentation head of "Wider or Deeper" (the paper's "2 conv." head)."""

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.structures import PixelData
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.structures import SegDataSample

from mmwrn.registry import register_model
from ..utils.args import check_bool, check_number


@register_model(hosts=('mmseg',))
class TwoConvHead(BaseDecodeHead):
    """The paper's "2 conv." head: ``conv6a`` (3x3, dilation 12, 4096 -> 512,
    with bias, ReLU, no norm) then the classifier ``conv_seg`` (3x3,
    dilation 12, with bias).

    By default the loss is computed as in ademxapp: at the head's output
    resolution (1/8 of the input for an output-stride-8 backbone) against the
    labels nearest-subsampled to that size (``F.interpolate`` 'nearest': the
    top-left pixel of each cell), instead of mmseg's default of upsampling the
    logits to the label size.

    Args:
        in_channels (int): Input channels (B7 after bn7). Default: 4096.
        channels (int): Channels of ``conv6a``. Default: 512.
        kernel_size (int): Kernel of ``conv6a``. Default: 3.
        dilation (int): Dilation of ``conv6a``. Default: 12.
        classifier_kernel_size (int): Kernel of ``conv_seg``. Default: 3.
        classifier_dilation (int): Dilation of ``conv_seg``. Default: 12.
        loss_at_feature_resolution (bool): Subsample the labels to the logits
            (ademxapp) rather than upsample the logits to the labels (mmseg).
            Default: True.
        dropout_ratio (float): Dropout before ``conv_seg``; the paper uses
            none. Default: 0.
        **kwargs: The other arguments of mmseg's ``BaseDecodeHead``
            (``num_classes``, ``norm_cfg`` (None: no norm, as the paper),
            ``act_cfg``, ``loss_decode``, ``sampler``, ``align_corners``, ...).
    """

    def __init__(
        self,
        in_channels=4096,
        channels=512,
        kernel_size=3,
        dilation=12,
        classifier_kernel_size=3,
        classifier_dilation=12,
        loss_at_feature_resolution=True,
        dropout_ratio=0.0,
        **kwargs,
    ):
        check_number('in_channels', in_channels, int, 1)
        check_number('channels', channels, int, 1)
        for name, k in (
            ('kernel_size', kernel_size),
            ('classifier_kernel_size', classifier_kernel_size),
        ):
            check_number(name, k, int, 1)
            if k % 2 != 1:
                raise ValueError(f'{name} must be odd, got {k}')
        check_number('dilation', dilation, int, 1)
        check_number('classifier_dilation', classifier_dilation, int, 1)
        check_bool('loss_at_feature_resolution', loss_at_feature_resolution)
        check_number('dropout_ratio', dropout_ratio, float, 0, 1, high_open=True)
        num_classes = kwargs.get('num_classes')
        if num_classes is not None:
            check_number('num_classes', num_classes, int, 1)
        super().__init__(in_channels, channels, dropout_ratio=dropout_ratio, **kwargs)
        self.loss_at_feature_resolution = loss_at_feature_resolution
        self.conv6a = ConvModule(
            self.in_channels,
            self.channels,
            kernel_size,
            padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )
        self.conv_seg = nn.Conv2d(
            self.channels,
            self.out_channels,
            classifier_kernel_size,
            padding=classifier_dilation * (classifier_kernel_size - 1) // 2,
            dilation=classifier_dilation,
        )

    def forward(self, inputs):
        return self.cls_seg(self.conv6a(self._transform_inputs(inputs)))

    def loss_by_feat(self, seg_logits, batch_data_samples):
        """mmseg's loss; with ``loss_at_feature_resolution`` on the labels
        nearest-subsampled to the logits' size (mmseg's resize of the logits
        to the label size is then an identity)."""
        if self.loss_at_feature_resolution:
            size = seg_logits.shape[2:]
            batch_data_samples = [subsample_labels(s, size) for s in batch_data_samples]
        return super().loss_by_feat(seg_logits, batch_data_samples)


def subsample_labels(data_sample, size):
    """A ``SegDataSample`` with the metainfo of ``data_sample`` and its
    ``gt_sem_seg`` nearest-subsampled to ``size`` (``F.interpolate``
    'nearest': the top-left pixel of each cell)."""
    labels = data_sample.gt_sem_seg.data
    small = F.interpolate(labels[None].float(), size=size, mode='nearest')[0].to(labels.dtype)
    return SegDataSample(metainfo=data_sample.metainfo, gt_sem_seg=PixelData(data=small))
