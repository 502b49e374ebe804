# mmseg's pspnet recipe for ADE20K (mmseg's defaults: crop 512x512, 4 GPUs x 4 images,
# 80k iterations, SGD lr 0.01 poly, BN trained) with WiderResNet-38 as the backbone,
# initialised from an ImageNet Model A1 classifier. Not a paper recipe.
_base_ = [
    '../_base_/models/pspnet_wider-resnet38-a1-d8.py',
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    '../_base_/guards.py',
]
crop_size = (512, 512)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(num_classes=150),
    auxiliary_head=dict(num_classes=150),
)
