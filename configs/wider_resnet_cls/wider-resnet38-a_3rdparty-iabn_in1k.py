# IABN's WiderResNet-38 ImageNet classifier (mapillary/inplace_abn, `wider_resnet38`,
# trained with experiments/wider_resnet38_ipabn_lr_256.json), for its converted weights
# (tools/model_converters/port2mmwrn.py). It is Model A: 3x3/2 max-pools WITH padding 1
# before B2-B6 (224 -> 112 / 56 / 28 / 14 / 7), leaky ReLU 0.01, BN eps 1e-5; its
# in-place ABN scales by |weight| + eps, which the converter writes into the BN weights.
# Evaluated as IABN's test_imagenet.py: shorter side 256 (bilinear), centre crop 224.
# IABN reports 79.72 / 94.78 top-1 / top-5 (224), 80.69 / 95.27 (320).
# Training settings are inherited from wider-resnet38-a_4xb64_in1k.py (not IABN's recipe).
_base_ = ['./wider-resnet38-a_4xb64_in1k.py']
model = dict(
    backbone=dict(
        pool_padding=1,
        norm_cfg=dict(type='BN', eps=1e-5),
        act_cfg=dict(type='LeakyReLU', negative_slope=0.01, inplace=True),
    )
)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow', interpolation='bilinear'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
