"""A user's detection run: mmdet's own tools/train.py (installed with mmdet,
mmdet/.mim/tools/train.py) on a shipped configs/wider_resnet_det config, shrunk
with --cfg-options to tiny widths and a generated COCO-format dataset, on CPU."""

import glob
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.helpers.det import (
    DET_CONFIGS,
    make_coco,
    mmdet_tools_train,
    needs_mmdet,
    tiny_det_options,
)
from tests.helpers.seg import ROOT

pytestmark = [needs_mmdet, pytest.mark.slow]  # subprocesses: mmdet's tools/train.py
# mmwrn from this checkout (custom_imports=['mmwrn'] imports it), warnings off
ENV = dict(
    os.environ,
    PYTHONWARNINGS='ignore',
    PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get('PYTHONPATH')) if p),
)
LOSSES = {
    'faster-rcnn': {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'},
    'mask-rcnn': {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox', 'loss_mask'},
}


def config_of(detector):
    return next(p for p in DET_CONFIGS if osp.basename(p).startswith(detector + '_'))


@pytest.fixture(scope='module')
def coco(tmp_path_factory):
    return make_coco(str(tmp_path_factory.mktemp('coco')), num_images=4, size=64)


@pytest.mark.parametrize('detector', list(LOSSES))
def test_mmdet_train_tool_trains_the_shipped_config(detector, coco, tmp_path):
    config = config_of(detector)
    work = str(tmp_path / 'work')
    out = subprocess.run(
        [
            sys.executable,
            mmdet_tools_train(),
            config,
            '--work-dir',
            work,
            '--cfg-options',
            *tiny_det_options(config, coco, epochs=2),
        ],
        cwd=str(tmp_path),
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, f'{out.stdout[-3000:]}\n{out.stderr[-3000:]}'
    [path] = glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        logs = [json.loads(line) for line in f]
    train = [r for r in logs if 'loss' in r]
    assert [r['iter'] for r in train] == [1, 2, 3, 4]  # 4 images, batch 2, 2 epochs
    for record in train:
        assert LOSSES[detector] <= set(record), record
        assert all(np.isfinite(record[k]) for k in record if k.startswith('loss')), record
    assert any('coco/bbox_mAP' in r for r in logs), 'validation (CocoMetric) ran'
    if detector == 'mask-rcnn':
        assert any('coco/segm_mAP' in r for r in logs)
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    # the checkpoint holds mmwrn's backbone, built up to B6 (no B7: out_indices 2-5)
    state = torch.load(osp.join(work, 'epoch_2.pth'), map_location='cpu', weights_only=False)[
        'state_dict'
    ]
    assert 'backbone.b6.0.conv3.weight' in state and 'backbone.b7.0.conv1.weight' not in state


def test_missing_imagenet_weights_stop_training_with_the_converter_command(coco, tmp_path):
    config = config_of('faster-rcnn')
    options = [
        o
        for o in tiny_det_options(config, coco, epochs=1)
        if not o.startswith('model.backbone.init_cfg')
    ]
    out = subprocess.run(
        [
            sys.executable,
            mmdet_tools_train(),
            config,
            '--work-dir',
            str(tmp_path / 'work'),
            '--cfg-options',
            *options,
        ],
        cwd=str(tmp_path),
        env=ENV,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert 'checkpoints/wider-resnet38-a1_4xb64_in1k.pth can not be found' in out.stderr
    assert (
        'ademxapp2mmwrn.py ilsvrc-cls_rna-a1_cls1000_ep-0001.params '
        'checkpoints/wider-resnet38-a1_4xb64_in1k.pth --config '
    ) in out.stderr
    assert not glob.glob(str(tmp_path / 'work' / '*.pth')), 'no iteration ran'
