# mmseg's DeepLabV3+ on WiderResNet-38 A1 at output stride 8 in ResNet-50's layout
# (-b6: the backbone ends at B6): out_indices (2, 3, 4, 5) = B3-B6 (256 / 512 / 1024 /
# 2048 ch, strides 4 / 8 / 8 / 8), so mmseg's heads are unchanged: the low-level branch
# from B3 (output 0, stride 4), ASPP on B6, aux on B5. B7 and bn7 are not built.
_base_ = ['mmseg::_base_/models/deeplabv3plus_r50-d8.py']
custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=None,
    backbone=dict(
        _delete_=True,
        type='WiderResNet',
        depth=38,
        variant='a1',
        output_stride=8,
        out_indices=(2, 3, 4, 5),
        norm_cfg=norm_cfg,
        # a full ImageNet classifier: its B7 / bn7 weights are skipped (one log line)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/wider-resnet38-a1_4xb64_in1k.pth',
            prefix='backbone.',
        ),
    ),
    decode_head=dict(in_channels=2048, in_index=3, c1_in_channels=256),
    auxiliary_head=dict(in_channels=1024, in_index=2),
)
