# CIFAR-100 as the WRN paper trains it: 4-pixel reflect padding + random 32x32 crop,
# flip, the WRN repository's normalisation; 128 images per batch.
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']
data_preprocessor = dict(
    num_classes=100, mean=[125.3, 123.0, 113.9], std=[63.0, 62.1, 66.7], to_rgb=False
)
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, padding_mode='reflect'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
