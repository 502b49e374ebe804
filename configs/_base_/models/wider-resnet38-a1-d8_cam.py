# PSA's CAM classifier (jiwoon-ahn/psa network/resnet38_cls.py): WiderResNet-38 Model A1 at
# output stride 8 (ademxapp dilation rule: PSA's resnet38d), Dropout2d 0.5 on the B7
# features, global average pooling, bias-free 1x1 conv fc8 -> 20 VOC classes, multi-label
# soft-margin loss (sigmoid cross-entropy averaged over classes). CAMs: fc8 on the feature
# map before pooling, then ReLU (CAMClsHead.cams; tools/wsss/cam.py).
custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=20,
        # PSA's Normalize: RGB / 255, ImageNet mean / std
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True,
    ),
    backbone=dict(
        type='WiderResNet',
        depth=38,
        variant='a1',
        output_stride=8,
        dilation_rule='ademxapp',
        # PSA's resnet38d: Dropout2d 0.3 in B6, 0.5 in B7. PSA drops before both the 3x3
        # and the last 1x1 of these bottlenecks, mmwrn before the last conv only: training
        # differs there, inference (CAMs) does not
        drop_rates=(0, 0, 0, 0, 0.3, 0.5),
        dropout_type='channel',
        out_indices=(6,),
        # PSA freezes every BN (eval mode, no gradients for weight / bias) and conv1a + B2
        # (its `not_training`). eps 1.001e-5: ademxapp's (MXNet) BN, what the ImageNet
        # initialisation was trained with (PSA's nn.BatchNorm2d uses 1e-5; see the
        # 3rdparty-psa config for PSA's own files)
        norm_cfg=dict(type='BN', eps=1.001e-5, requires_grad=False),
        norm_eval=True,
        frozen_stages=1,
        # ademxapp's ImageNet Model A1, converted (README "Weakly-supervised segmentation")
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/wider-resnet38-a1_4xb64_in1k.pth',
            prefix='backbone.',
        ),
    ),
    head=dict(
        type='CAMClsHead',
        num_classes=20,
        in_channels=4096,
        dropout=0.5,
        loss=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    ),
)
