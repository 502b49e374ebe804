# The CAM classifier of wider-resnet38-a1-d8-cam_2xb8-15e_voc12aug-448x448.py with PSA's
# BN eps 1e-5 (nn.BatchNorm2d), for PSA's released res38_cls.pth (fc8 kept):
#   python tools/model_converters/port2mmwrn.py res38_cls.pth \
#       checkpoints/wider-resnet38-a1-d8-cam_3rdparty-psa_2xb8-15e_voc12aug-448x448.pth \
#       --config THIS_CONFIG
_base_ = ['./wider-resnet38-a1-d8-cam_2xb8-15e_voc12aug-448x448.py']
model = dict(backbone=dict(norm_cfg=dict(type='BN', eps=1e-5, requires_grad=False)))
