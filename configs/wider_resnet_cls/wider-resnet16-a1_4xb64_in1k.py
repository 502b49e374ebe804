# ImageNet-1k: WiderResNet-16 Model A1, the paper's recipe where mmpretrain can
# express it: 4 GPUs x 64 images (batch 256), SGD Nesterov momentum 0.9, wd 1e-4, lr 0.1
# linearly to ~0 over 90 epochs, random-sized crop 224 (8-100%, bicubic), colour jitter
# 0.4, PCA lighting 0.1, flip; test at shorter side 320 + centre crop 320 (the paper's).
# The paper reports no ImageNet number for depth 16 with this recipe.
# Other GPU counts: tools/train.py --auto-scale-lr (base batch 256).
_base_ = [
    '../_base_/models/wider-resnet38-a1_cls.py',
    '../_base_/datasets/imagenet_bs64_wider-resnet.py',
    '../_base_/schedules/imagenet_bs256_nesterov-linear-90e.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/guards.py',
]
model = dict(backbone=dict(depth=16, variant='a1'))
