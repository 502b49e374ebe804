# WRN-28-10 with dropout 0.3 for CIFAR-10: final BN-ReLU, 8x8 (global) average
# pooling, FC with bias.
custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='WideResNet_CIFAR', depth=28, widen_factor=10, drop_rate=0.3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=640,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    ),
)
