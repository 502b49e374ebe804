# ImageNet with the paper's (ademxapp's) augmentation: Inception-style random-sized
# crop 224 (8-100% area, bicubic), colour jitter 0.4, PCA lighting 0.1, flip; tested
# on the shorter side resized to 320 and a 320 centre crop. 64 images per GPU.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32_pil_bicubic.py']
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.08, 1.0),
        backend='pillow',
        interpolation='bicubic',
    ),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    # AlexNet's PCA lighting (RGB, 0-255 scale)
    dict(
        type='Lighting',
        eigval=[55.46, 4.794, 1.148],
        eigvec=[[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]],
        alphastd=0.1,
        to_rgb=True,
    ),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=320, edge='short', backend='pillow', interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=320),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=64, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
