# PSA's CAM classifier on PASCAL VOC 2012 train_aug (weakly-supervised segmentation):
# WiderResNet-38 A1 at output stride 8 from ademxapp's ImageNet weights, GAP + fc8, the
# multi-label soft-margin loss, BN and conv1a + B2 frozen, 2 GPUs x 8 images (PSA's batch
# 16), lr 0.1 poly over 15 epochs, crop 448. CAMs: tools/wsss/cam.py; their mIoU:
# tools/wsss/eval_cams.py (README "Weakly-supervised segmentation").
_base_ = [
    '../_base_/models/wider-resnet38-a1-d8_cam.py',
    '../_base_/datasets/voc12_cls_wider-resnet-448x448.py',
    '../_base_/schedules/psa_cls_poly-15e.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/guards.py',
]
