"""Helpers for the classification tests: shrunk configs and CIFAR datasets that
read the real binary batch format without mmpretrain's fixed md5 sums (which
only the official archives match)."""

import glob
import os.path as osp

from mmengine.config import Config
from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.registry import DATASETS

from tests.helpers.seg import ROOT, TINY_BACKBONE, walk_dicts

CLS_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'wider_resnet_cls', '*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'wider_resnet_wsss', '*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'demo', 'cam_*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'wrn_cifar', '*.py'))
)


def _no_md5(entries):
    return [[name, None] for name, _ in entries]


@DATASETS.register_module()
class UncheckedCIFAR10(CIFAR10):
    train_list = _no_md5(CIFAR10.train_list)
    test_list = _no_md5(CIFAR10.test_list)
    meta = dict(CIFAR10.meta, md5=None)


@DATASETS.register_module()
class UncheckedCIFAR100(CIFAR100):
    train_list = _no_md5(CIFAR100.train_list)
    test_list = _no_md5(CIFAR100.test_list)
    meta = dict(CIFAR100.meta, md5=None)


def shrink_cls(cfg):
    backbone = cfg.model.backbone
    if backbone.type == 'WiderResNet':
        backbone.update(TINY_BACKBONE)
        backbone.init_cfg = None  # a full-width initialisation cannot load (the CAM configs)
        cfg.model.head.in_channels = TINY_BACKBONE['channels'][-1][-1]
    else:
        backbone.widen_factor = 1
        cfg.model.head.in_channels = 64
    cfg.load_from = None
    return cfg


def tiny_cls_train_config(path, data_root, work_dir, size):
    """A shipped classification config shrunk for a CPU run of tools/train.py."""
    cfg = shrink_cls(Config.fromfile(path))
    cfg.custom_imports = dict(imports=['mmwrn', 'tests.helpers.cls'], allow_failed_imports=False)

    def fix(d):
        if 'data_root' in d:
            d['data_root'] = data_root
        if d.get('type') in ('CIFAR10', 'CIFAR100'):
            d.update(type='Unchecked' + d['type'], download=False)
        if d.get('type') == 'RandomResizedCrop':
            d['scale'] = size
        if d.get('type') == 'ResizeEdge':
            d['scale'] = size
        if d.get('type') == 'CenterCrop':
            d['crop_size'] = size
        if 'batch_size' in d:
            d.update(batch_size=4, num_workers=0, persistent_workers=False)

    walk_dicts(cfg._cfg_dict, fix)
    cfg.train_cfg.update(max_epochs=2, val_interval=1)
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    out = osp.join(work_dir, 'config.py')
    cfg.dump(out)
    return out
