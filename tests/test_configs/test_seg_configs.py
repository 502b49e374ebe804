"""Every shipped segmentation config builds, trains every parameter and runs, at
reduced widths."""

import os.path as osp

import pytest
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

import mmwrn  # noqa: F401
from tests.helpers.seg import ROOT, SEG_CONFIGS, load_tiny, make_batch


@pytest.mark.compat
@pytest.mark.parametrize('path', SEG_CONFIGS, ids=osp.basename)
def test_seg_config_builds_and_runs(path):
    cfg = load_tiny(path)
    assert cfg.default_scope == 'mmseg'
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    model.init_weights()
    num_classes = cfg.model.decode_head.num_classes
    data = model.data_preprocessor(make_batch(num_classes), training=True)

    model.train()
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total) and total > 0
    total.backward()
    # no level built but unused (DDP with find_unused_parameters=False needs it)
    no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not no_grad, f'parameters without gradient: {no_grad}'

    model.eval()
    with torch.no_grad():
        logits = model(data['inputs'], data['data_samples'], mode='tensor')
        preds = model(data['inputs'], data['data_samples'], mode='predict')
    assert logits.shape[:2] == (2, num_classes)
    assert preds[0].pred_sem_seg.data.shape == (1, 64, 64)
    assert preds[0].seg_logits.data.shape == (num_classes, 64, 64)


def test_paper_configs_are_faithful():
    from mmengine.config import Config

    cfg = Config.fromfile(
        osp.join(
            ROOT,
            'configs',
            'wider_resnet_seg',
            'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py',
        )
    )
    b, h = cfg.model.backbone, cfg.model.decode_head
    assert (b.variant, b.output_stride, b.dilation_rule, b.norm_eval) == ('a1', 8, 'ademxapp', True)
    assert b.with_cp == 'norm_act'  # same results, less training memory
    assert tuple(b.drop_rates) == (0, 0, 0, 0, 0.3, 0.5) and b.norm_cfg.eps == 1.001e-5
    assert (h.type, h.in_channels, h.channels, h.dilation) == ('TwoConvHead', 4096, 512, 12)
    assert h.loss_decode == dict(type='BootstrappedCrossEntropyLoss', thresh=0.6, min_kept=256)
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys == {
        'bias': dict(lr_mult=2.0, decay_mult=0.0)
    }
    assert cfg.model.data_preprocessor.size == (504, 504)
    assert cfg.train_dataloader.batch_size * 4 == 16
