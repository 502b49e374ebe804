# mmseg's UPerNet on WiderResNet-38 A1 at output stride 32 (as mmseg's UPerNet on
# ResNet): B3, B4, B5 and B7 (256 / 512 / 1024 / 4096 ch, strides 4-32); aux on B5.
_base_ = ['mmseg::_base_/models/upernet_r50.py']
custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='WiderResNet',
        depth=38,
        variant='a1',
        output_stride=32,
        out_indices=(2, 3, 4, 6),
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
    decode_head=dict(in_channels=[256, 512, 1024, 4096], in_index=[0, 1, 2, 3]),
    auxiliary_head=dict(in_channels=1024, in_index=2),
)
