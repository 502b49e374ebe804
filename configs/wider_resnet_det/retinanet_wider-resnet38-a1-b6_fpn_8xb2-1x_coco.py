# mmdet's RetinaNet 1x recipe for COCO (mmdet's retinanet_r50_fpn_1x_coco: 8 GPUs x 2
# images, 12 epochs, SGD lr 0.01 with steps at epochs 8 and 11, 1333x800, flip) with
# WiderResNet-38 A1 as the backbone, initialised from the ImageNet Model A1 classifier.
# Not a paper recipe; no result has been reported or measured for it (README.md here).
_base_ = [
    '../_base_/models/retinanet_wider-resnet38-a1-b6_fpn.py',
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py',
    '../_base_/guards.py',
]
# mmdet's RetinaNet lr (half of the two-stage detectors')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
