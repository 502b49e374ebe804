"""A trained mmpretrain classifier initialises a segmentor's backbone, also one
that builds fewer levels than the classifier."""

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import load_checkpoint, save_checkpoint
from mmpretrain.registry import MODELS as CLS_MODELS
from mmseg.registry import MODELS as SEG_MODELS

import mmwrn  # noqa: F401
from mmwrn.models import WiderResNet
from tests.helpers.logs import captured_log
from tests.helpers.tiny import TINY_CHANNELS


def test_classifier_checkpoint_loads_into_segmentor_backbone(tmp_path):
    backbone = dict(type='WiderResNet', stem_channels=8, channels=TINY_CHANNELS)
    classifier = CLS_MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=backbone,
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=64),
        )
    )
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
    return SEG_MODELS.build(
        dict(
            type='EncoderDecoder',
            data_preprocessor=dict(type='SegDataPreProcessor'),
            backbone=dict(
                backbone,
                output_stride=8,
                init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'),
            ),
            decode_head=dict(type='TwoConvHead', in_channels=64, channels=8, num_classes=3),
        )
    )


def _classifier_checkpoint(tmp_path, extra=None, drop=()):
    classifier = CLS_MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='WiderResNet', stem_channels=8, channels=TINY_CHANNELS),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=64),
        )
    )
    for p in classifier.parameters():
        p.data.normal_()
    state = classifier.state_dict()
    state.update(extra or {})
    for key in drop:
        del state[key]
    path = str(tmp_path / 'cls.pth')
    save_checkpoint({'state_dict': state, 'meta': {}}, path)
    return classifier, path


def _four_level_segmentor(path):
    with DefaultScope.overwrite_default_scope('mmseg'):
        return SEG_MODELS.build(
            dict(
                type='EncoderDecoder',
                data_preprocessor=dict(type='SegDataPreProcessor'),
                backbone=dict(
                    type='WiderResNet',
                    stem_channels=8,
                    channels=TINY_CHANNELS,
                    out_indices=(2, 3, 4, 5),
                    init_cfg=dict(type='Pretrained', checkpoint=path, prefix='backbone.'),
                ),
                decode_head=dict(
                    type='FCNHead',
                    in_channels=32,
                    in_index=3,
                    channels=8,
                    num_convs=1,
                    num_classes=3,
                ),
            )
        )


def test_full_classifier_checkpoint_into_four_level_backbone(tmp_path):
    classifier, path = _classifier_checkpoint(tmp_path)
    segmentor = _four_level_segmentor(path)
    with captured_log() as log:
        segmentor.init_weights()
    seg_state = segmentor.backbone.state_dict()
    cls_state = classifier.backbone.state_dict()
    assert set(seg_state) == {k for k in cls_state if not k.startswith(('b7.', 'bn7.'))}
    for k in seg_state:
        torch.testing.assert_close(seg_state[k], cls_state[k], msg=k)
    skipped = [m for m in log if 'does not build' in m]
    assert len(skipped) == 1, log
    num_b7 = sum(k.startswith(('b7.', 'bn7.')) for k in cls_state)
    assert (
        'WiderResNet with out_indices (2, 3, 4, 5) does not build b7, bn7' in skipped[0]
        and f'skipped their {num_b7} keys' in skipped[0]
    )
    assert not any('unexpected key' in m or 'missing keys' in m for m in log), log


def test_real_mismatches_are_still_reported(tmp_path):
    extra = {'backbone.b3.0.extra': torch.zeros(1)}
    _, path = _classifier_checkpoint(tmp_path, extra, drop=['backbone.b4.0.conv1.weight'])
    with captured_log() as log:
        _four_level_segmentor(path).init_weights()
    mismatch = '\n'.join(m for m in log if 'unexpected key' in m or 'missing keys' in m)
    assert 'b3.0.extra' in mismatch and 'b4.0.conv1.weight' in mismatch
    assert 'b7' not in mismatch and 'bn7' not in mismatch


def test_four_level_checkpoint_into_full_backbone_reports_b7_missing(tmp_path):
    four = WiderResNet(stem_channels=8, channels=TINY_CHANNELS, out_indices=(2, 3, 4, 5))
    full = WiderResNet(stem_channels=8, channels=TINY_CHANNELS)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\).*b7\.0\.conv1\.weight'):
        full.load_state_dict(four.state_dict())
    # and torch's strict loading of the full network into four levels passes
    with captured_log() as log:
        four.load_state_dict(full.state_dict())
    assert sum('does not build b7, bn7' in m for m in log) == 1


def test_load_from_a_full_segmentor_checkpoint(tmp_path):
    # mmengine's Runner.load_checkpoint (load_from / --resume) of a segmentor
    # trained with the full backbone into one with four levels
    _, path = _classifier_checkpoint(tmp_path)
    four = _four_level_segmentor(path)
    with DefaultScope.overwrite_default_scope('mmseg'):
        full = SEG_MODELS.build(
            dict(
                type='EncoderDecoder',
                data_preprocessor=dict(type='SegDataPreProcessor'),
                backbone=dict(
                    type='WiderResNet',
                    stem_channels=8,
                    channels=TINY_CHANNELS,
                    out_indices=(2, 3, 4, 5, 6),
                ),
                decode_head=dict(
                    type='FCNHead',
                    in_channels=32,
                    in_index=3,
                    channels=8,
                    num_convs=1,
                    num_classes=3,
                ),
            )
        )
    for p in full.parameters():
        p.data.normal_()
    seg_path = str(tmp_path / 'seg.pth')
    save_checkpoint({'state_dict': full.state_dict(), 'meta': {}}, seg_path)
    with captured_log() as log:
        load_checkpoint(four, seg_path, map_location='cpu', logger='current')
    assert sum('does not build b7, bn7' in m for m in log) == 1
    assert not any('unexpected key' in m or 'missing keys' in m for m in log), log
    full_state = full.state_dict()
    for k, v in four.state_dict().items():
        torch.testing.assert_close(v, full_state[k], msg=k)


def _swapped_config(tmp_path, pretrained_line):
    """mmseg's PSPNet base config (which sets model.pretrained to ResNet
    weights) with our backbone swapped in as a user would."""
    path = tmp_path / 'pspnet_wider.py'
    path.write_text(f"""
_base_ = ['mmseg::_base_/models/pspnet_r50-d8.py']
custom_imports = dict(imports=['mmwrn'], allow_failed_imports=False)
model = dict(
    {pretrained_line}
    backbone=dict(_delete_=True, type='WiderResNet', stem_channels=8,
                  channels={TINY_CHANNELS}, output_stride=8, out_indices=(4, 5)),
    decode_head=dict(in_channels=32, channels=8),
    auxiliary_head=dict(in_channels=16, channels=8))
""")
    return Config.fromfile(str(path))


def test_model_pretrained_of_an_mmseg_base_config(tmp_path):
    backbone = WiderResNet(
        stem_channels=8, channels=TINY_CHANNELS, output_stride=8, out_indices=(4, 5)
    )
    for p in backbone.parameters():
        p.data.normal_()
    path = str(tmp_path / 'wider.pth')
    save_checkpoint({'state_dict': backbone.state_dict(), 'meta': {}}, path)
    cfg = _swapped_config(tmp_path, f'pretrained={path!r},')
    with (
        DefaultScope.overwrite_default_scope('mmseg'),
        pytest.warns(UserWarning, match='pretrained is a deprecated'),
    ):
        segmentor = SEG_MODELS.build(cfg.model)
    assert segmentor.backbone.init_cfg == dict(type='Pretrained', checkpoint=path)
    segmentor.init_weights()
    loaded = segmentor.backbone.state_dict()
    for k, v in backbone.state_dict().items():
        torch.testing.assert_close(loaded[k], v, msg=k)


def test_base_config_resnet_weights_are_refused(tmp_path):
    # the user kept the base config's model.pretrained='open-mmlab://resnet50_v1c'
    cfg = _swapped_config(tmp_path, '')
    assert cfg.model.pretrained == 'open-mmlab://resnet50_v1c'
    with (
        DefaultScope.overwrite_default_scope('mmseg'),
        pytest.raises(ValueError, match=r'ResNet weights.*model\.pretrained=None'),
    ):
        SEG_MODELS.build(cfg.model)
    # and with an init_cfg on the backbone, the clash is named
    cfg = _swapped_config(tmp_path, '')
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint='x.pth')
    with (
        DefaultScope.overwrite_default_scope('mmseg'),
        pytest.raises(ValueError, match=r'cannot be set at the same time.*model\.pretrained'),
    ):
        SEG_MODELS.build(cfg.model)
