"""tools/train.py on mmpretrain configs: ImageNet folder layout and CIFAR binary
batches, the mmpretrain flags, inference, and the trained classifier as a
segmentor backbone."""

import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from tests.helpers.cls import tiny_cls_train_config
from tests.helpers.demo_data import synthetic_data
from tests.helpers.seg import ROOT
from tests.helpers.tools import run_tool, scalars

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

CLS = osp.join(ROOT, 'configs', 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py')


def test_imagenet_layout_train_infer_and_reuse_as_segmentor_backbone(tmp_path):
    data_root = synthetic_data.make_imagenet(str(tmp_path / 'data'))
    cfg = tiny_cls_train_config(CLS, data_root, str(tmp_path), size=64)
    work = str(tmp_path / 'work')
    out = run_tool('tools/train.py', cfg, '--work-dir', work, '--auto-scale-lr')
    assert 'Scaling the original LR by 0.015625' in out.stdout + out.stderr  # 4 / 256
    logs = scalars(work)
    assert any('accuracy/top1' in r for r in logs), 'validation ran'
    assert np.isfinite([r['loss'] for r in logs if 'loss' in r]).all()
    ckpt = osp.join(work, 'epoch_2.pth')

    from mmpretrain.apis import ImageClassificationInferencer

    inferencer = ImageClassificationInferencer(cfg, pretrained=ckpt, device='cpu')
    img = osp.join(data_root, 'val', 'ILSVRC2012_val_00000000.JPEG')
    result = inferencer(img)[0]
    assert 0 <= result['pred_label'] < 1000 and 0 <= result['pred_score'] <= 1

    from mmseg.registry import MODELS

    from tests.helpers.seg import TINY_BACKBONE

    with DefaultScope.overwrite_default_scope('mmseg'):
        segmentor = MODELS.build(
            dict(
                type='EncoderDecoder',
                data_preprocessor=dict(type='SegDataPreProcessor'),
                backbone=dict(
                    type='WiderResNet',
                    output_stride=8,
                    **TINY_BACKBONE,
                    init_cfg=dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.'),
                ),
                decode_head=dict(type='TwoConvHead', in_channels=256, channels=8, num_classes=3),
            )
        )
    segmentor.init_weights()
    trained = torch.load(ckpt, map_location='cpu')['state_dict']
    backbone = {k[len('backbone.') :]: v for k, v in trained.items() if k.startswith('backbone.')}
    assert set(backbone) == set(segmentor.backbone.state_dict())
    for k, v in segmentor.backbone.state_dict().items():
        torch.testing.assert_close(v, backbone[k], msg=k)


def test_cifar_binary_batches_and_mmpretrain_flags(tmp_path):
    synthetic_data.make_cifar(str(tmp_path / 'data'), num_classes=10)
    config = osp.join(ROOT, 'configs', 'wrn_cifar', 'wrn-28-10-d0.3_1xb128_cifar10.py')
    cfg = tiny_cls_train_config(config, str(tmp_path / 'data'), str(tmp_path), size=32)
    work = str(tmp_path / 'work')
    run_tool('tools/train.py', cfg, '--work-dir', work, '--no-validate')
    logs = scalars(work)
    assert not any('accuracy/top1' in r for r in logs), '--no-validate'
    assert len([r for r in logs if 'loss' in r]) == 10  # 20 images / 4 x 2 epochs
    out = run_tool(
        'tools/test.py',
        cfg,
        osp.join(work, 'epoch_2.pth'),
        '--work-dir',
        str(tmp_path / 'test'),
        '--out',
        str(tmp_path / 'preds.pkl'),
    )
    assert 'accuracy/top1' in out.stdout + out.stderr
    assert osp.getsize(tmp_path / 'preds.pkl') > 0


def test_cifar100_binary_batches(tmp_path):
    synthetic_data.make_cifar(str(tmp_path / 'data'), num_classes=100, num_train=8, num_test=4)
    config = osp.join(ROOT, 'configs', 'wrn_cifar', 'wrn-40-4_1xb128_cifar100.py')
    cfg = tiny_cls_train_config(config, str(tmp_path / 'data'), str(tmp_path), size=32)
    run_tool('tools/train.py', cfg, '--work-dir', str(tmp_path / 'work'))
    assert any('accuracy/top1' in r for r in scalars(str(tmp_path / 'work')))
