# ImageNet classifier of the paper: WiderResNet-38 Model A1 (no dropout), bn7 + ReLU,
# global average pooling, FC-1000 with bias.
custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    # BN eps 1.001e-5 = MXNet's: the authors' released weights need it
    backbone=dict(
        type='WiderResNet',
        depth=38,
        variant='a1',
        out_indices=(6,),
        norm_cfg=dict(type='BN', eps=1.001e-5),
    ),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=4096,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5),
    ),
)
