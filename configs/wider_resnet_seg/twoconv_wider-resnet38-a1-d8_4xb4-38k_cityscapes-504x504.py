# Cityscapes (fine, 2,975 train images): Model A1 at output stride 8
# + the "2 conv." head, the paper's recipe where mmseg can express it.
# Reported results, with their sources: the model table of README.md in this folder.
#
# The paper's: crop 504 (500 rounded up to a multiple of 8); longer side scaled to
#   U[0.7, 1.3] x the origin size; flip 0.5; no colour distortion; mean padding; RGB/255
#   with ImageNet mean/std; bootstrapped CE (0.6, 256) at 1/8; BN frozen (norm_eval),
#   gamma/beta trained; 2x lr, no wd for biases/BN beta; SGD momentum 0.9, wd 5e-4;
#   softmax averaged with the flipped image at test (--tta).
# Cityscapes specifics (paper): origin size 2048, 4 GPUs x 4 images (batch 16), lr 0.0016
#   fixed for 140 epochs then linear decay for 64 epochs (~26k + 12k iterations), test
#   on the whole 1024x2048 image. mmseg's: validation / checkpoints every 4k iterations.
_base_ = [
    '../_base_/models/twoconv_wider-resnet38-a1-d8.py',
    '../_base_/datasets/cityscapes_wider-resnet-504x504.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/guards.py',
    '../_base_/schedules/paper_sgd_40k.py',
]
crop_size = (504, 504)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(variant='a1'),
    decode_head=dict(num_classes=19),
)
param_scheduler = [
    dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=26000),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.0, by_epoch=False, begin=26000, end=38000),
]
train_cfg = dict(max_iters=38000, val_interval=4000)
