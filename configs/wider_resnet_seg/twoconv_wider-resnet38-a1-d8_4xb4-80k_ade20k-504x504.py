# ADE20K (20,210 train images, 150 classes): Model A1 at output stride 8 + the "2 conv."
# head, the paper's recipe where mmseg can express it.
# Reported results, with their sources: the model table of README.md in this folder.
#
# The paper's: crop 504 (500 rounded up to a multiple of 8); longer side scaled to
#   U[0.7, 1.3] x the origin size; flip 0.5; no colour distortion; mean padding; RGB/255
#   with ImageNet mean/std; bootstrapped CE (0.6, 256) at 1/8; BN frozen (norm_eval),
#   gamma/beta trained; 2x lr, no wd for biases/BN beta; SGD momentum 0.9, wd 5e-4;
#   softmax averaged with the flipped image at test (--tta).
# ADE20K specifics: scale 500 (paper); label 0 ("other") ignored (mmseg's
#   reduce_zero_label). mmseg's: 4 GPUs x 4 images, 80k iterations of poly lr from 0.0016
#   (the paper gives no ADE20K schedule).
_base_ = [
    '../_base_/models/twoconv_wider-resnet38-a1-d8.py',
    '../_base_/datasets/ade20k_wider-resnet-504x504.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/guards.py',
    '../_base_/schedules/paper_sgd_40k.py',
]
crop_size = (504, 504)
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=150))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=80000, by_epoch=False)]
train_cfg = dict(max_iters=80000, val_interval=8000)
default_hooks = dict(checkpoint=dict(interval=8000))
