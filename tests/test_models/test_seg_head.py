import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmwrn.models import BootstrappedCrossEntropyLoss, TwoConvHead


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
    head = TwoConvHead(in_channels=16, channels=8, num_classes=5, dilation=2,
                       classifier_dilation=2,
                       loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    feats = torch.randn(2, 16, 8, 8)
    logits = head((feats, ))
    assert logits.shape == (2, 5, 8, 8)
    labels = torch.randint(0, 5, (2, 1, 64, 64))
    samples = [SegDataSample(gt_sem_seg=PixelData(data=lbl)) for lbl in labels]
    loss = head.loss_by_feat(logits, samples)['loss_ce']
    small = labels[:, 0, ::8, ::8]  # nearest subsampling = top-left pixel per cell
    ref = F.cross_entropy(logits, small, ignore_index=255)
    torch.testing.assert_close(loss, ref)
    head.loss_at_feature_resolution = False  # mmseg's way: upsampled logits
    up = F.interpolate(logits, size=(64, 64), mode='bilinear', align_corners=False)
    torch.testing.assert_close(head.loss_by_feat(logits, samples)['loss_ce'],
                               F.cross_entropy(up, labels[:, 0], ignore_index=255))


def test_bootstrapped_ce_keeps_hard_pixels():
    loss_fn = BootstrappedCrossEntropyLoss(thresh=0.6, min_kept=2)
    # 4 pixels, 2 classes; true-class probabilities 0.9, 0.5, 0.3, ignored
    p = torch.tensor([0.9, 0.5, 0.3, 0.5])
    logits = torch.stack([torch.log(p), torch.log(1 - p)]).view(1, 2, 1, 4)
    label = torch.tensor([[[0, 0, 0, 255]]])
    expected = -(torch.log(torch.tensor(0.5)) + torch.log(torch.tensor(0.3))) / 2
    torch.testing.assert_close(loss_fn(logits, label), expected)
    # fewer than min_kept pass the threshold: the min_kept hardest are kept
    loss_fn = BootstrappedCrossEntropyLoss(thresh=0.4, min_kept=2)
    torch.testing.assert_close(loss_fn(logits, label), expected)
    loss_fn = BootstrappedCrossEntropyLoss(thresh=0.4, min_kept=0)
    torch.testing.assert_close(loss_fn(logits, label), -torch.log(torch.tensor(0.3)))
    assert loss_fn(logits, torch.full_like(label, 255)) == 0


def test_bootstrapped_ce_refuses_sampler_weights_and_bad_args():
    with pytest.raises(ValueError, match='pixel sampler'):
        BootstrappedCrossEntropyLoss()(torch.zeros(1, 2, 1, 1), torch.zeros(1, 1, 1).long(),
                                       weight=torch.ones(1, 1, 1))
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        BootstrappedCrossEntropyLoss(thresh=1.5)
