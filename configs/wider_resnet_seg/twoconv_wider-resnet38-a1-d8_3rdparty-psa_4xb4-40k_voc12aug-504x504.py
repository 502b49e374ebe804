# twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py on PSA's resnet38d
# (jiwoon-ahn/psa, network/resnet38d.py): ademxapp's ImageNet A1 weights in PyTorch,
# computed at output stride 8 with ademxapp's dilation rule and nn.BatchNorm2d, whose eps
# is 1e-5 (ademxapp's MXNet BN: 1.001e-5). For converted resnet38d files
#   python tools/model_converters/port2mmwrn.py res38_cls.pth \
#       checkpoints/wider-resnet38-a1-d8_3rdparty-psa_in1k.pth --config THIS_CONFIG
# (PSA's CAM classifier fc8 is not converted). The "2 conv." head is the paper's, not PSA's.
_base_ = ['./twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py']
norm_cfg = dict(type='SyncBN', eps=1e-5, requires_grad=True)
model = dict(
    backbone=dict(
        norm_cfg=norm_cfg,
        init_cfg=dict(checkpoint='checkpoints/wider-resnet38-a1-d8_3rdparty-psa_in1k.pth'),
    )
)
