# The paper's segmenter ("Wider or Deeper", section 3-4): Model A1 at output
# stride 8 (ademxapp dilation rule, dropout 0.3 in B6 / 0.5 in B7), BN frozen to
# global statistics, and the "2 conv." head trained with bootstrapped
# cross-entropy (threshold 0.6, >= 256 pixels) at 1/8 resolution.
custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False)
# eps 1.001e-5 = MXNet's BN, as the ademxapp ImageNet weights were trained with
norm_cfg = dict(type='SyncBN', eps=1.001e-5, requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # the paper's normalisation: RGB / 255, ImageNet mean / std; padding with 0
    # after normalisation = padding with the mean, as the paper
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='WiderResNet',
        depth=38,
        variant='a1',
        output_stride=8,
        dilation_rule='ademxapp',
        drop_rates=(0, 0, 0, 0, 0.3, 0.5),
        out_indices=(6,),
        norm_cfg=norm_cfg,
        # recompute BN + ReLU in backward instead of keeping the convs'
        # inputs (same results, less training memory; README "Training
        # memory"); False for speed when memory allows
        with_cp='norm_act',
        norm_eval=True,
        # the ImageNet Model A1 classifier of the model zoo entry
        # wider-resnet38-a1_4xb64_in1k: converted from ademxapp's release
        # (tools/model_converters/ademxapp2mmwrn.py) or trained with that
        # config; `--cfg-options` can point elsewhere
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/wider-resnet38-a1_4xb64_in1k.pth',
            prefix='backbone.',
        ),
    ),
    decode_head=dict(
        type='TwoConvHead',
        in_channels=4096,
        channels=512,
        dilation=12,
        classifier_dilation=12,
        num_classes=21,
        align_corners=False,
        loss_decode=dict(type='BootstrappedCrossEntropyLoss', thresh=0.6, min_kept=256),
    ),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'),
)
