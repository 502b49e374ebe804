"""Every shipped classification config builds and runs, at reduced widths."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmwrn  # noqa: F401
from tests.helpers.cls import CLS_CONFIGS, shrink_cls
from tests.helpers.seg import ROOT


@pytest.mark.compat
@pytest.mark.parametrize('path', CLS_CONFIGS, ids=osp.basename)
def test_cls_config_builds_and_runs(path):
    cfg = shrink_cls(Config.fromfile(path))
    assert cfg.default_scope == 'mmpretrain'
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    size = 32 if 'cifar' in path else 64
    num_classes = cfg.model.head.num_classes
    data = model.data_preprocessor(
        dict(
            inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8) for _ in range(2)],
            data_samples=[DataSample().set_gt_label(i % num_classes) for i in range(2)],
        ),
        True,
    )
    model.train()
    loss = model(**data, mode='loss')['loss']
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    model.eval()
    with torch.no_grad():
        feats = model(data['inputs'], mode='tensor')
        preds = model(data['inputs'], data['data_samples'], mode='predict')
    assert feats.shape == (2, num_classes)
    assert preds[0].pred_score.shape == (num_classes,)


def test_imagenet_recipe_is_the_papers():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py')
    )
    opt = cfg.optim_wrapper.optimizer
    assert (opt.lr, opt.momentum, opt.weight_decay, opt.nesterov) == (0.1, 0.9, 1e-4, True)
    assert cfg.param_scheduler.type == 'LinearLR' and cfg.param_scheduler.end == 90
    assert cfg.train_dataloader.batch_size * 4 == 256 == cfg.auto_scale_lr.base_batch_size
    train = {t['type']: t for t in cfg.train_dataloader.dataset.pipeline}
    assert train['RandomResizedCrop']['crop_ratio_range'] == (0.08, 1.0)
    assert train['RandomResizedCrop']['interpolation'] == 'bicubic'
    assert train['ColorJitter']['brightness'] == 0.4 and train['Lighting']['alphastd'] == 0.1
    test = {t['type']: t for t in cfg.test_dataloader.dataset.pipeline}
    assert test['ResizeEdge']['scale'] == 320 and test['CenterCrop']['crop_size'] == 320
