# Cityscapes (fine, 2,975 train images) with the paper's segmentation data pipeline
# ("Wider or Deeper", ademxapp): the longer side scaled to U[0.7, 1.3] x the origin size
# 2048, random 504x504 crop (500 rounded up to a multiple of 8), flip 0.5, no colour
# distortion (mean padding: the data preprocessor pads with 0 after normalisation); test on
# the whole 1024x2048 image, `--tta` averages the softmax over the image and its flip.
# 4 images per GPU (the paper: 4 GPUs x 4).
_base_ = ['mmseg::_base_/datasets/cityscapes.py']
crop_size = (504, 504)
scale = (2048, 1024)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=scale, ratio_range=(0.7, 1.3), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=scale, keep_ratio=True)],
            [
                dict(type='RandomFlip', prob=0.0, direction='horizontal'),
                dict(type='RandomFlip', prob=1.0, direction='horizontal'),
            ],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ],
    ),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
