# PASCAL VOC 2012 + SBD aug (10,582 train images) with the paper's segmentation data
# pipeline ("Wider or Deeper", ademxapp): the longer side scaled to U[0.7, 1.3] x 500,
# random 504x504 crop (500 rounded up to a multiple of 8), flip 0.5, no colour distortion
# (mean padding: the model's data preprocessor pads with 0 after normalisation); test at
# the longer side 500, `--tta` averages the softmax over the image and its flip.
# 4 images per GPU (the paper: 4 GPUs x 4).
_base_ = ['mmseg::_base_/datasets/pascal_voc12_aug.py']
crop_size = (504, 504)
scale = (500, 500)  # the longer side, for keep_ratio resizes
data_root = 'data/VOCdevkit/VOC2012'
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
train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        datasets=[
            dict(
                type='PascalVOCDataset',
                data_root=data_root,
                data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                ann_file='ImageSets/Segmentation/train.txt',
                pipeline=train_pipeline,
            ),
            dict(
                type='PascalVOCDataset',
                data_root=data_root,
                data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
                ann_file='ImageSets/Segmentation/aug.txt',
                pipeline=train_pipeline,
            ),
        ]
    ),
)
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
