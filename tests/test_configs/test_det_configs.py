"""The shipped detection configs (configs/wider_resnet_det) in mmdet: they build
with mmdet's registry at real widths, their backbone is the ImageNet
classifier's (every parameter of it, nothing else), the FPN takes what the
backbone returns, the frozen stages and BN are what detection users expect,
and every trained backbone parameter gets a gradient through the detector."""

import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch.nn.modules.batchnorm import _BatchNorm

import mmwrn  # noqa: F401
from tests.helpers.det import CLASSES, DET_CONFIGS, needs_mmdet, tiny_det_options

pytestmark = needs_mmdet
NAMES = [osp.basename(p) for p in DET_CONFIGS]
IMAGENET_INIT = 'checkpoints/wider-resnet38-a1_4xb64_in1k.pth'
CLS_CONFIG = osp.join(
    osp.dirname(osp.dirname(DET_CONFIGS[0])), 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py'
)


def build(cfg, scope, device='meta'):
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope), torch.device(device):
        return registry.build(cfg.model)


@pytest.fixture(scope='module')
def classifier_backbone():
    """``{name: shape}`` of the ImageNet A1 classifier's backbone parameters
    (the checkpoint the detectors start from)."""
    model = build(Config.fromfile(CLS_CONFIG), 'mmpretrain')
    return {n: p.shape for n, p in model.backbone.named_parameters()}


def test_the_detection_configs_are_shipped():
    assert {n.split('_')[0] for n in NAMES} >= {'faster-rcnn', 'mask-rcnn'}


@pytest.mark.parametrize('name', NAMES)
def test_builds_in_mmdet_at_real_widths_with_the_classifier_backbone(name, classifier_backbone):
    cfg = Config.fromfile(DET_CONFIGS[NAMES.index(name)])
    assert cfg.default_scope == 'mmdet'
    assert cfg.custom_imports == dict(
        imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False
    )
    model = build(cfg, 'mmdet')
    backbone = model.backbone
    assert type(backbone).__name__ == 'WiderResNet' and backbone.depth == 38
    assert backbone.variant == 'a1'
    ours = {n: p.shape for n, p in backbone.named_parameters()}
    # every parameter is the classifier's, same shape; only the unbuilt B7 / bn7 are not
    assert {n: classifier_backbone[n] for n in ours} == ours
    missing = {n.split('.')[0] for n in set(classifier_backbone) - set(ours)}
    assert missing == {'b7', 'bn7'}
    assert sum(p.numel() for p in backbone.parameters()) == 105_070_912 - sum(
        torch.Size(s).numel() for n, s in classifier_backbone.items() if n not in ours
    )
    # the FPN takes B3-B6 as they are
    assert backbone.out_indices == (2, 3, 4, 5)
    assert list(backbone.out_channels) == list(cfg.model.neck.in_channels) == [256, 512, 1024, 2048]
    neck = model.neck  # RetinaNet's FPN starts at B4 (start_level 1), as on ResNet-50
    assert [c.conv.in_channels for c in neck.lateral_convs] == list(backbone.out_channels)[
        neck.start_level : neck.backbone_end_level
    ]
    # ImageNet initialisation from the model zoo's converted A1 classifier
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=IMAGENET_INIT, prefix='backbone.'
    )
    # as mmdet's ResNet configs: BN statistics frozen, affine trained, stages to stride 4
    assert cfg.model.backbone.norm_cfg.type == 'BN' and cfg.model.backbone.norm_cfg.requires_grad
    assert backbone.norm_eval and backbone.frozen_stages == 2
    assert {h.type for h in cfg.custom_hooks} >= {'mmwrn.FiniteLossHook', 'mmwrn.LabelRangeHook'}


def tiny_detector(name, tmp_path):
    """The shipped config ``name`` at the tiny widths of the tools test (applied
    the way --cfg-options applies them), built in mmdet's scope."""
    from mmdet.registry import MODELS
    from mmengine.config import DictAction

    path = DET_CONFIGS[NAMES.index(name)]
    cfg = Config.fromfile(path)
    action = DictAction(option_strings=['--cfg-options'], dest='cfg_options', nargs='+')
    namespace = type('Args', (), {})()
    action(None, namespace, tiny_det_options(path, str(tmp_path)))
    cfg.merge_from_dict(namespace.cfg_options)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('name', NAMES)
def test_label_range_guard_checks_the_object_labels(name, tmp_path):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmwrn.engine.hooks.label_range_hook import LabelRangeError, LabelRangeHook, label_classes

    model = tiny_detector(name, tmp_path)
    assert label_classes(model) == (len(CLASSES), None)  # the box head's, not the RPN's
    hook = LabelRangeHook()
    hook.classes = label_classes(model)

    def batch(labels):
        sample = DetDataSample(metainfo=dict(img_path='img_7.jpg'))
        sample.gt_instances = InstanceData(
            bboxes=torch.zeros(len(labels), 4), labels=torch.tensor(labels)
        )
        return dict(inputs=[torch.zeros(3, 8, 8)], data_samples=[sample])

    hook._check(batch([0, 1, 1]), 'training iteration 1')  # in range: passes
    with pytest.raises(LabelRangeError, match=r'img_7.jpg: values \{2: 1, 5: 2\}') as error:
        hook._check(batch([0, 2, 5, 5]), 'training iteration 1')
    assert 'outside the 2 classes (valid: 0..1)' in str(error.value)
    assert 'fix the annotations' in str(error.value)


@pytest.mark.parametrize('name', NAMES)
def test_every_trained_backbone_parameter_gets_a_gradient_through_the_detector(name, tmp_path):
    from mmdet.structures import DetDataSample
    from mmdet.structures.mask import BitmapMasks
    from mmengine.structures import InstanceData

    model = tiny_detector(name, tmp_path)
    model.init_weights()
    model.train()
    backbone = model.backbone
    frozen = ('conv1a', 'b2', 'b3')
    assert all(not m.training for m in backbone.modules() if isinstance(m, _BatchNorm)), (
        'norm_eval: every BN of the backbone in eval mode while training'
    )
    g = torch.Generator().manual_seed(0)
    images, samples = [], []
    for _ in range(2):
        images.append(torch.randint(0, 256, (3, 64, 64), generator=g, dtype=torch.uint8))
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(64, 64),
                ori_shape=(64, 64),
                pad_shape=(64, 64),
                scale_factor=(1.0, 1.0),
                batch_input_shape=(64, 64),
            )
        )
        boxes = torch.tensor([[4.0, 6.0, 30.0, 34.0], [28.0, 20.0, 60.0, 58.0]])
        masks = torch.zeros(2, 64, 64, dtype=torch.uint8)
        for i, (x0, y0, x1, y1) in enumerate(boxes.int().tolist()):
            masks[i, y0:y1, x0:x1] = 1
        sample.gt_instances = InstanceData(
            bboxes=boxes,
            labels=torch.tensor([0, len(CLASSES) - 1]),
            masks=BitmapMasks(masks.numpy(), 64, 64),
        )
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=images, data_samples=samples), True)
    losses = model(**data, mode='loss')
    total = sum(v if torch.is_tensor(v) else sum(v) for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    for n, p in backbone.named_parameters():
        if n.split('.')[0] in frozen:
            assert not p.requires_grad and p.grad is None, f'{n} is frozen'
        else:
            assert p.requires_grad, n
            assert p.grad is not None and p.grad.abs().sum() > 0, f'{n} gets no gradient'
    assert any(n.startswith('b4.') for n, _ in backbone.named_parameters())
