"""Helpers to shrink the shipped segmentation configs for CPU tests: the real
layouts (units per level, heads, losses) with every width divided by 16."""

import glob
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# the demo's segmenters (its cam_* config is a classifier: tests.helpers.cls.CLS_CONFIGS)
SEG_CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'wider_resnet_seg', '*.py'))
    + [
        p
        for p in glob.glob(osp.join(ROOT, 'configs', 'demo', '*.py'))
        if not osp.basename(p).startswith('cam_')
    ]
)
TINY_BACKBONE = dict(
    stem_channels=4, channels=((8, 8), (16, 16), (32, 32), (32, 64), (32, 64, 128), (64, 128, 256))
)
# widths of the real network -> of the tiny one
TINY_CH = {64: 4, 128: 8, 256: 16, 512: 32, 1024: 64, 2048: 128, 4096: 256}


def shrink(cfg, size=64):
    """Reduce ``cfg.model`` to tiny widths, no pretrained weights, inputs of
    ``size``; returns ``cfg``."""
    model = cfg.model
    model.data_preprocessor.size = (size, size)
    if model.backbone.get('channels') is not None:  # already reduced (demo)
        model.backbone.init_cfg = None
        return cfg
    model.backbone.update(TINY_BACKBONE, init_cfg=None)
    heads = [model.decode_head] + ([model.auxiliary_head] if model.get('auxiliary_head') else [])
    for head in heads:
        ins = head.in_channels
        if isinstance(ins, (list, tuple)):
            head.in_channels = [TINY_CH.get(c, c) for c in ins]
        else:
            head.in_channels = TINY_CH.get(ins, max(ins // 16, 4))
        head.channels = 16
        if 'c1_in_channels' in head:
            head.c1_in_channels = TINY_CH[head.c1_in_channels]
            head.c1_channels = 8
    return cfg


def load_tiny(path, size=64):
    return shrink(Config.fromfile(path), size)


def make_batch(num_classes, batch=2, size=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8))
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size),
                scale_factor=(1.0, 1.0),
            )
        )
        label = torch.randint(0, num_classes, (1, size, size), generator=g)
        label[:, :4] = 255
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def walk_dicts(obj, fn):
    """Call ``fn`` on every dict nested in ``obj`` (dicts, lists, tuples)."""
    if isinstance(obj, dict):
        fn(obj)
        for v in obj.values():
            walk_dicts(v, fn)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            walk_dicts(v, fn)


def tiny_train_config(path, data_root, work_dir, iters=4, size=64):
    """A shipped config shrunk for a CPU run of tools/train.py: tiny widths and
    crops, data under ``data_root``, ``iters`` iterations with validation and
    checkpoints every 2; written to ``work_dir/config.py``."""
    cfg = load_tiny(path, size)

    def fix(d):
        if 'data_root' in d:
            d['data_root'] = data_root
        if d.get('type') in ('Resize', 'RandomResize'):
            d['scale'] = (size, size)
        if d.get('type') == 'RandomCrop':
            d['crop_size'] = (size, size)
        if 'batch_size' in d:
            d.update(batch_size=2, num_workers=0, persistent_workers=False)

    walk_dicts(cfg._cfg_dict, fix)
    cfg.val_dataloader.batch_size = 1
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=iters)]
    cfg.optim_wrapper.optimizer.lr = 0.01
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.update(interval=2, by_epoch=False)
    cfg.randomness = dict(seed=0)
    out = osp.join(work_dir, 'config.py')
    cfg.dump(out)
    return out


def shrink_decoder(model, factor=16):
    """Divide every width (``*channels`` keys) of the neck and heads of an mmseg
    model config, and of a wrapper backbone around a ResNet (BiSeNetV1), by
    ``factor``: the same structure at a CPU test's cost. The widths a backbone
    feeds are set afterwards by ``swap_in_wider_resnet``."""

    def scale(value):
        if isinstance(value, int):
            return max(value // factor, 2)
        return type(value)(scale(v) for v in value)

    def fix(d):
        for key, value in list(d.items()):
            if key.endswith('channels') and not (key == 'in_channels' and value == 3):
                d[key] = scale(value)

    parts = [model.get('neck'), model.get('decode_head'), model.get('auxiliary_head')]
    backbone = model.get('backbone', {})
    if 'backbone_cfg' in backbone:  # a wrapper: scale it, not the ResNet inside
        fix(backbone)
    walk_dicts([p for p in parts if p], fix)
    return model
