# WiderResNet-38 Model A1 as a detection backbone in ResNet-50's four-level layout, shared by
# the Faster R-CNN, Mask R-CNN and RetinaNet bases (model.backbone =
# {{_base_.wider_resnet_det_backbone}}): out_indices (2, 3, 4, 5) = B3, B4, B5, B6 (256 / 512 /
# 1024 / 2048 channels, strides 4 / 8 / 16 / 32), so mmdet's FPN is unchanged; B7 and bn7 are
# not built. The backbone starts from the ImageNet A1 classifier of the model zoo
# (wider-resnet38-a1_4xb64_in1k: converted from the authors' release, or trained), its B7 / bn7
# keys skipped. The variable is copied into model.backbone when a config is read: override
# model.backbone (in a config or --cfg-options), not wider_resnet_det_backbone.
custom_imports = dict(imports=['mmwrn', 'mmwrn.enable_host_mends'], allow_failed_imports=False)
wider_resnet_det_backbone = dict(
    _delete_=True,
    type='WiderResNet',
    depth=38,
    variant='a1',
    out_indices=(2, 3, 4, 5),
    # as mmdet's ResNet configs (frozen_stages=1: the stem and the stride-4 stage):
    # everything up to the first FPN level frozen, here conv1a (stride 1), B2
    # (stride 2) and B3 (stride 4); no activations are kept for their backward
    frozen_stages=2,
    # BN as in mmdet's ResNet configs: statistics frozen (norm_eval), affine
    # parameters trained; eps 1.001e-5 = the ImageNet classifier's (MXNet's), so the
    # frozen backbone computes exactly the classifier's features
    norm_cfg=dict(type='BN', eps=1.001e-5, requires_grad=True),
    norm_eval=True,
    init_cfg=dict(
        type='Pretrained',
        checkpoint='checkpoints/wider-resnet38-a1_4xb64_in1k.pth',
        prefix='backbone.',
    ),
)
