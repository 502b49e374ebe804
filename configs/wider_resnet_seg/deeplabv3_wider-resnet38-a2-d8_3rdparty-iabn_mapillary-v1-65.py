# IABN's Mapillary Vistas segmenter (mapillary/inplace_abn, scripts/test_vistas.py, snapshot
# wide_resnet38_deeplab_vistas.pth.tar), for its converted weights:
#   python tools/model_converters/port2mmwrn.py wide_resnet38_deeplab_vistas.pth.tar \
#       checkpoints/deeplabv3_wider-resnet38-a2-d8_3rdparty-iabn_mapillary-v1-65.pth \
#       --config THIS_CONFIG
# Body: WiderResNet-38 A2 at output stride 8 with IABN's dilation (every conv of B5 dilated
# 2, of B6 and B7 4), leaky ReLU 0.01, BN eps 1e-5 (its in-place ABN scales by
# |weight| + eps, which the converter writes into the BN weights), Dropout2d 0.3 / 0.5 in
# B6 / B7. Head: IABN's DeeplabV3 as mmseg's ASPPHead (1x1 + 3x3 at 12 / 24 / 36 + image
# pool, 256 channels; IABN's 1x1 reduction convs sit in the centre of the 3x3 bottleneck),
# then the 1x1 classifier: 65 classes (Vistas v1.2 without 'Unlabeled'), no auxiliary head.
# Inputs as IABN's test: RGB / 255 normalised with its Vistas mean / std, the longer side
# resized to 2048. IABN's test script pools the image branch over 84x84 windows (at 1/8)
# where ASPPHead pools globally, as IABN's DeeplabV3 does in training: the same for feature
# maps up to 84x84, i.e. inputs up to 672 px per side.
# Training settings are mmseg's Vistas defaults (IABN published no segmentation recipe).
_base_ = [
    '../_base_/models/deeplabv3_wider-resnet38-a2-d8.py',
    'mmseg::_base_/datasets/mapillary_v1_65.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/guards.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]
crop_size = (512, 1024)
leaky = dict(type='LeakyReLU', negative_slope=0.01, inplace=True)
model = dict(
    data_preprocessor=dict(
        size=crop_size, mean=[106.4337, 116.6171, 119.5595], std=[65.4970, 67.6004, 74.1234]
    ),
    backbone=dict(
        dilation_rule='iabn',
        act_cfg=leaky,
        drop_rates=(0, 0, 0, 0, 0.3, 0.5),
        dropout_type='channel',
        out_indices=(6,),
        init_cfg=None,
    ),
    decode_head=dict(in_index=0, channels=256, act_cfg=leaky, dropout_ratio=0, num_classes=65),
    auxiliary_head=None,
)
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 2048), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
