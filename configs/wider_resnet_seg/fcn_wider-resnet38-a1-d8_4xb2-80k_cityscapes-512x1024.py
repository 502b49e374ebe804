# mmseg's fcn recipe for Cityscapes (mmseg's defaults: crop 512x1024, 4 GPUs x 2
# images, 80k iterations, SGD lr 0.01 poly, BN trained) with WiderResNet-38 as the
# backbone, initialised from an ImageNet Model A1 classifier. Not a paper recipe.
_base_ = [
    '../_base_/models/fcn_wider-resnet38-a1-d8.py',
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    '../_base_/guards.py',
]
crop_size = (512, 1024)
model = dict(data_preprocessor=dict(size=crop_size))
