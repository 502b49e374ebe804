# mmdet's Mask R-CNN with FPN on WiderResNet-38 Model A1 (./wider-resnet38-a1-b6_det.py: the
# backbone in ResNet-50's four-level layout, B3..B6 at strides 4..32).
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', './wider-resnet38-a1-b6_det.py']
model = dict(
    backbone={{_base_.wider_resnet_det_backbone}},
    neck=dict(in_channels=[256, 512, 1024, 2048]),
)
