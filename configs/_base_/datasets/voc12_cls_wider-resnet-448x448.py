# PASCAL VOC 2012 + SBD aug (train_aug, 10,582 images) with image-level labels, as PSA
# trains its CAM classifier (train_cls.py): longer side resized to U{448..768} (bicubic),
# flip 0.5, colour jitter (brightness / contrast / saturation 0.3, hue 0.1), random crop
# 448 padded with the mean (PSA pads with 0 after normalisation). Labels: the classes of
# each image's mask (PSA's make_cls_labels.py), or PSA's cls_labels.npy via label_file.
# Validation as PSA's: val images centre-cropped / padded to 500.
dataset_type = 'VOCClsDataset'
data_root = 'data/VOCdevkit/VOC2012'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizeLong', min_long=448, max_long=768),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1),
    # BGR mean
    dict(type='RandomCrop', crop_size=448, pad_if_needed=True, pad_val=(104, 116, 124)),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='CenterCrop', crop_size=500, auto_pad=True),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file=['ImageSets/Segmentation/train.txt', 'ImageSets/Segmentation/aug.txt'],
        pipeline=train_pipeline,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline,
    ),
)
val_evaluator = [dict(type='AveragePrecision'), dict(type='MultiLabelMetric', average='macro')]
test_dataloader = val_dataloader
test_evaluator = val_evaluator
