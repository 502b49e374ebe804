# mmseg's DeepLabV3 (ASPP 12/24/36 + image pool, 512 ch) on WiderResNet-38 A2 at
# output stride 8, as IABN puts DeepLabV3 on A2 (aux on B5).
_base_ = ['mmseg::_base_/models/deeplabv3_r50-d8.py']
custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='WiderResNet',
        depth=38,
        variant='a2',
        output_stride=8,
        out_indices=(4, 6),
        norm_cfg=norm_cfg,
        # recompute BN + ReLU in backward instead of keeping the convs'
        # inputs (same results, less training memory; README "Training
        # memory"); False for speed when memory allows
        with_cp='norm_act',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/wider-resnet38-a1_4xb64_in1k.pth',
            prefix='backbone.',
        ),
    ),
    decode_head=dict(in_channels=4096, in_index=1),
    auxiliary_head=dict(in_channels=1024, in_index=0),
)
