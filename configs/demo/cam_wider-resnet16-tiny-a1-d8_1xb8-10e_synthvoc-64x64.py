# The README's weakly-supervised chain on CPU in minutes: PSA's CAM classifier
# (configs/wider_resnet_wsss/) at reduced width and depth 16, trained from scratch with
# image-level labels on the synthetic VOC-layout data of
#   python tools/demo/synthetic_data.py voc data/synthvoc-wsss --size 64
# then tools/wsss/cam.py and tools/wsss/eval_cams.py (README "Weakly-supervised segmentation").
# What differs from the VOC recipe: widths / 8, depth 16, no ImageNet initialisation (so BN
# and every level train, momentum 0.9, lr 0.01), crop 64 (longer side U{64..80}), 10 epochs
# of 1 GPU x 8 images, fixed seed.
_base_ = ['../wider_resnet_wsss/wider-resnet38-a1-d8-cam_2xb8-15e_voc12aug-448x448.py']
data_root = 'data/synthvoc-wsss/VOCdevkit/VOC2012'
model = dict(
    backbone=dict(
        depth=16,
        stem_channels=16,
        channels=((16, 16), (32, 32), (64, 64), (64, 128), (64, 128, 256), (128, 256, 512)),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        frozen_stages=-1,
        init_cfg=None,
    ),
    head=dict(in_channels=512),
)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizeLong', min_long=64, max_long=80),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    dict(type='RandomCrop', crop_size=64, pad_if_needed=True, pad_val=(104, 116, 124)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterCrop', crop_size=64, auto_pad=True),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=2, dataset=dict(data_root=data_root, pipeline=train_pipeline)
)
val_dataloader = dict(
    batch_size=8, num_workers=2, dataset=dict(data_root=data_root, pipeline=test_pipeline)
)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.01, momentum=0.9))
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True,
    )
]
train_cfg = dict(max_epochs=10, val_interval=5)
default_hooks = dict(checkpoint=dict(interval=10), logger=dict(interval=10))
randomness = dict(seed=0)
