# mmseg's upernet recipe for Cityscapes (mmseg's defaults: crop 512x1024, 4 GPUs x 2
# images, 80k iterations, SGD lr 0.01 poly, BN trained) with WiderResNet-38 A1 in
# ResNet-50's four-level layout (B3-B6, no B7), initialised from an ImageNet Model A1
# classifier. Not a paper recipe.
_base_ = [
    '../_base_/models/upernet_wider-resnet38-a1-b6.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    '../_base_/guards.py',
]
crop_size = (512, 1024)
model = dict(data_preprocessor=dict(size=crop_size))
