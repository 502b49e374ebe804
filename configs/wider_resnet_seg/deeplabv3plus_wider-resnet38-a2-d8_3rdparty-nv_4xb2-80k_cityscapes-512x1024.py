# deeplabv3plus_wider-resnet38-a2-d8_4xb2-80k_cityscapes-512x1024.py with NVIDIA's
# WiderResNet-38 A2 (NVIDIA/semantic-segmentation, network/wider_resnet.py, loaded by NV
# as wider_resnet38_a2(classes=1000, dilation=True)), for its converted ImageNet weights:
# A2 at output stride 8 with NV's (IABN's) dilation - every conv of B5 dilated 2, of B6
# and B7 4, B5's first conv included - BN (eps 1e-5) + ReLU.
#   python tools/model_converters/port2mmwrn.py wider_resnet38.pth.tar \
#       checkpoints/wider-resnet38-a2-d8_3rdparty-nv_in1k.pth --config THIS_CONFIG
# (the ImageNet classifier is dropped). mmseg's DeepLabV3+ head is not NV's (NV: plain
# 3x3 convs, ASPP on B7 before bn_out): only the backbone is NV's network.
_base_ = ['./deeplabv3plus_wider-resnet38-a2-d8_4xb2-80k_cityscapes-512x1024.py']
model = dict(
    backbone=dict(
        dilation_rule='iabn',
        init_cfg=dict(checkpoint='checkpoints/wider-resnet38-a2-d8_3rdparty-nv_in1k.pth'),
    )
)
