"""A trained mmpretrain classifier initialises a segmentor's backbone."""
import torch
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import save_checkpoint
from mmpretrain.registry import MODELS as CLS_MODELS
from mmseg.registry import MODELS as SEG_MODELS

import mmwrn  # noqa: F401
from tests.conftest import TINY_CHANNELS


def test_classifier_checkpoint_loads_into_segmentor_backbone(tmp_path):
    backbone = dict(type='WiderResNet', stem_channels=8, channels=TINY_CHANNELS)
    classifier = CLS_MODELS.build(dict(
        type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64)))
    for p in classifier.parameters():
        p.data.normal_()
    path = str(tmp_path / 'cls.pth')
    save_checkpoint({'state_dict': classifier.state_dict(), 'meta': {}}, path)

    with DefaultScope.overwrite_default_scope('mmseg'):
        segmentor = _build_segmentor(backbone, path)
    segmentor.init_weights()
    seg_state = segmentor.backbone.state_dict()
    cls_state = classifier.backbone.state_dict()
    assert set(seg_state) == set(cls_state), 'no missing or unexpected backbone keys'
    for k in seg_state:
        torch.testing.assert_close(seg_state[k], cls_state[k], msg=k)


def _build_segmentor(backbone, path):
    return SEG_MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor'),
        backbone=dict(backbone, output_stride=8, init_cfg=dict(
            type='Pretrained', checkpoint=path, prefix='backbone.')),
        decode_head=dict(type='TwoConvHead', in_channels=64, channels=8, num_classes=3)))
