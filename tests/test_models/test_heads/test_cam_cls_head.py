"""CAMClsHead: PSA's resnet38_cls classifier (GAP + bias-free fc8, Dropout2d,
multilabel soft-margin loss) and its CAMs; the shipped CAM config freezes what
PSA freezes."""

import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmwrn  # noqa: F401
from mmwrn.models import CAMClsHead
from tests.helpers.seg import ROOT

CAM_CONFIG = osp.join(
    ROOT, 'configs', 'wider_resnet_wsss', 'wider-resnet38-a1-d8-cam_2xb8-15e_voc12aug-448x448.py'
)


def test_logits_loss_and_cams():
    torch.manual_seed(0)
    head = CAMClsHead(num_classes=5, in_channels=8)
    head.init_weights()
    x = torch.randn(3, 8, 6, 7)
    head.eval()
    logits = head((x,))
    cams_pre = F.conv2d(x, head.fc8.weight)
    torch.testing.assert_close(logits, cams_pre.mean((2, 3)))  # GAP then fc8 = fc8 then GAP
    torch.testing.assert_close(head.cams((x,)), F.relu(cams_pre))
    assert head.fc8.bias is None
    samples = [DataSample().set_gt_label(lb) for lb in ([0, 3], [1], [2, 4, 0])]
    target = torch.zeros(3, 5)
    for i, lb in enumerate(([0, 3], [1], [2, 4, 0])):
        target[i, lb] = 1
    loss = head.loss((x,), samples)['loss']
    torch.testing.assert_close(loss, F.multilabel_soft_margin_loss(logits, target))
    head.train()
    assert isinstance(head.dropout, torch.nn.Dropout2d) and head.dropout.p == 0.5
    assert not torch.allclose(head((x,)), logits)  # channel dropout while training
    with pytest.raises(ValueError, match='needs a feature map'):
        head((x.mean((2, 3)),))


def test_config_freezes_what_psa_freezes():
    cfg = Config.fromfile(CAM_CONFIG)
    with DefaultScope.overwrite_default_scope('mmpretrain'), torch.device('meta'):
        model = MODELS.build(cfg.model)
    model.train()
    bb = model.backbone
    assert bb.output_stride == 8 and model.neck is None
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    # PSA: every BN (eval, no grad) and conv1a + b2 (its not_training) frozen
    assert not any('norm' in n or 'bn7' in n for n in trainable)
    assert not any(n.startswith(('backbone.conv1a', 'backbone.b2.')) for n in trainable)
    assert 'backbone.b3.0.conv1.weight' in trainable and 'head.fc8.weight' in trainable
    assert all(not m.training for m in bb.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert tuple(model.head.fc8.weight.shape) == (20, 4096, 1, 1)
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['head.fc8'] == dict(lr_mult=10.0)
