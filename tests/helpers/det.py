"""Helpers for the detection tests: whether mmdet is usable, a tiny COCO-format
dataset, and the ``--cfg-options`` that shrink a shipped detection config to
tiny widths and that dataset for a CPU run of mmdet's ``tools/train.py``."""

import glob
import importlib
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from tests.helpers.seg import ROOT, TINY_BACKBONE

DET_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'wider_resnet_det', '*.py')))
CLASSES = ('square', 'triangle')
# widths of B3-B6 (out_indices 2-5) with TINY_BACKBONE
TINY_FPN_IN = [c[-1] for c in TINY_BACKBONE['channels'][1:5]]


def _mmdet_missing():
    """Why mmdet is not usable, or '' when it is."""
    try:
        importlib.import_module('mmdet.registry')
    except (ImportError, AssertionError) as e:
        return (
            f'needs mmdetection 3.3 (pip install "mmdet>=3.3.0,<3.4", in '
            f'requirements/tests.txt): {type(e).__name__}: {e}'
        )
    return ''


MMDET_MISSING = _mmdet_missing()
needs_mmdet = pytest.mark.skipif(bool(MMDET_MISSING), reason=MMDET_MISSING)


def mmdet_tools_train():
    """mmdet's own tools/train.py, as installed with the package (``.mim``)."""
    import mmdet

    return osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')


def _square(x, y, s):
    return [x, y, x + s, y, x + s, y + s, x, y + s]


def _triangle(x, y, s):
    return [x + s / 2, y, x + s, y + s, x, y + s]


def make_coco(root, num_images=4, size=64, seed=0):
    """``num_images`` images of ``size`` x ``size`` under ``root/images`` with a
    filled square and a filled triangle each, and their boxes and polygon masks
    in ``root/annotations.json`` (COCO format, categories ``CLASSES``); returns
    ``root``."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        img = Image.fromarray(rng.integers(0, 60, (size, size, 3), dtype=np.uint8))
        draw = ImageDraw.Draw(img)
        for category, shape in enumerate((_square, _triangle), 1):
            s = int(rng.integers(size // 4, size // 2))
            x = int(rng.integers(0, size - s))
            y = int(rng.integers(0, size - s))
            poly = [float(v) for v in shape(x, y, s)]
            draw.polygon(poly, fill=tuple(int(v) for v in rng.integers(120, 256, 3)))
            xs, ys = poly[0::2], poly[1::2]
            box = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            area = s * s if category == 1 else s * s / 2
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=i + 1,
                    category_id=category,
                    bbox=box,
                    area=float(area),
                    segmentation=[poly],
                    iscrowd=0,
                )
            )
        name = f'{i:04d}.jpg'
        img.save(osp.join(root, 'images', name))
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
    categories = [dict(id=i, name=n) for i, n in enumerate(CLASSES, 1)]
    with open(osp.join(root, 'annotations.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return root


def tiny_det_options(config, data_root, epochs=2, size=64):
    """``--cfg-options`` for mmdet's tools/train.py that shrink the shipped
    detection ``config`` (its real layout: B3-B6 into FPN, frozen stages,
    norm_eval) to tiny widths, no ImageNet initialisation, the dataset of
    :func:`make_coco` (4 images, batch 2: 2 iterations an epoch), ``epochs``
    epochs with validation and a checkpoint at the end, a log line per
    iteration."""
    name = osp.basename(config)
    mask = name.startswith('mask-rcnn')
    retina = name.startswith('retinanet')
    channels = str(TINY_BACKBONE['channels']).replace(' ', '')
    opts = [
        f'model.backbone.stem_channels={TINY_BACKBONE["stem_channels"]}',
        f'model.backbone.channels={channels}',
        'model.backbone.init_cfg=None',
        f'model.neck.in_channels={str(TINY_FPN_IN).replace(" ", "")}',
        'model.neck.out_channels=16',
    ]
    if retina:
        opts += [
            'model.bbox_head.in_channels=16',
            'model.bbox_head.feat_channels=16',
            f'model.bbox_head.num_classes={len(CLASSES)}',
        ]
    else:
        opts += [
            'model.rpn_head.in_channels=16',
            'model.rpn_head.feat_channels=16',
            'model.roi_head.bbox_roi_extractor.out_channels=16',
            'model.roi_head.bbox_head.in_channels=16',
            'model.roi_head.bbox_head.fc_out_channels=32',
            f'model.roi_head.bbox_head.num_classes={len(CLASSES)}',
        ]
    if mask:
        opts += [
            'model.roi_head.mask_roi_extractor.out_channels=16',
            'model.roi_head.mask_head.in_channels=16',
            'model.roi_head.mask_head.conv_out_channels=16',
            f'model.roi_head.mask_head.num_classes={len(CLASSES)}',
        ]
    classes = '[' + ','.join(CLASSES) + ']'
    for loader, resize in (('train_dataloader', 2), ('val_dataloader', 1)):
        opts += [
            f'{loader}.dataset.data_root={data_root}/',
            f'{loader}.dataset.ann_file=annotations.json',
            f'{loader}.dataset.data_prefix.img=images/',
            f'{loader}.dataset.metainfo.classes={classes}',
            f'{loader}.dataset.pipeline.{resize}.scale=({size},{size})',
            f'{loader}.num_workers=0',
            f'{loader}.persistent_workers=False',
        ]
    opts += [
        f'val_evaluator.ann_file={data_root}/annotations.json',
        f'train_cfg.max_epochs={epochs}',
        f'train_cfg.val_interval={epochs}',
        # mmdet's warm-up and steps are for 12 epochs of COCO: a constant lr here
        'param_scheduler=[]',
        'optim_wrapper.optimizer.lr=0.005',
        'default_hooks.logger.interval=1',
        f'default_hooks.checkpoint.interval={epochs}',
        'randomness.seed=0',
    ]
    return opts
