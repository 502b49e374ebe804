# PASCAL Context (4,998 train images), 59 classes (background ignored: mmseg's
# reduce_zero_label), with the paper's segmentation data pipeline ("Wider or Deeper",
# ademxapp) at VOC's scale 500 (the paper gives none for Context): the longer side scaled to
# U[0.7, 1.3] x 500, random 504x504 crop, flip 0.5, no colour distortion (mean padding: the
# data preprocessor pads with 0 after normalisation); test at the longer side 500, `--tta`
# averages the softmax over the image and its flip. 4 images per GPU.
_base_ = ['mmseg::_base_/datasets/pascal_context_59.py']
crop_size = (504, 504)
scale = (500, 500)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', reduce_zero_label=True),
    dict(type='RandomResize', scale=scale, ratio_range=(0.7, 1.3), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='LoadAnnotations', reduce_zero_label=True),
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
            [dict(type='LoadAnnotations', reduce_zero_label=True)],
            [dict(type='PackSegInputs')],
        ],
    ),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
