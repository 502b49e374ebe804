import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmwrn.models import TwoConvHead


def test_two_conv_head_is_the_papers():
    head = TwoConvHead(num_classes=21)
    assert (head.conv6a.conv.in_channels, head.conv6a.conv.out_channels) == (4096, 512)
    for conv in (head.conv6a.conv, head.conv_seg):
        assert conv.kernel_size == (3, 3) and conv.dilation == (12, 12)
        assert conv.padding == (12, 12) and conv.bias is not None
    assert head.conv6a.norm_cfg is None and head.dropout is None
    params = sum(p.numel() for p in head.parameters())
    assert params == 4096 * 512 * 9 + 512 + 512 * 21 * 9 + 21


def test_two_conv_head_forward_and_feature_resolution_loss():
    torch.manual_seed(0)
    head = TwoConvHead(
        in_channels=16,
        channels=8,
        num_classes=5,
        dilation=2,
        classifier_dilation=2,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0),
    )
    feats = torch.randn(2, 16, 8, 8)
    logits = head((feats,))
    assert logits.shape == (2, 5, 8, 8)
    labels = torch.randint(0, 5, (2, 1, 64, 64))
    samples = [SegDataSample(gt_sem_seg=PixelData(data=lbl)) for lbl in labels]
    loss = head.loss_by_feat(logits, samples)['loss_ce']
    small = labels[:, 0, ::8, ::8]  # nearest subsampling = top-left pixel per cell
    ref = F.cross_entropy(logits, small, ignore_index=255)
    torch.testing.assert_close(loss, ref)
    head.loss_at_feature_resolution = False  # mmseg's way: upsampled logits
    up = F.interpolate(logits, size=(64, 64), mode='bilinear', align_corners=False)
    torch.testing.assert_close(
        head.loss_by_feat(logits, samples)['loss_ce'],
        F.cross_entropy(up, labels[:, 0], ignore_index=255),
    )
