# PASCAL VOC 2012 with the SBD aug set (10,582 train images): Model A1 at output
# stride 8 + the "2 conv." head, the paper's recipe where mmseg can express it.
# Reported results, with their sources: the model table of README.md in this folder.
#
# The paper's: crop 504 (500 rounded up to a multiple of 8); longer side scaled
#   to U[0.7, 1.3] x 500; flip 0.5; no colour distortion; mean padding (the data
#   preprocessor pads after normalisation); RGB/255 with ImageNet mean/std;
#   bootstrapped CE (0.6, 256) at 1/8; BN frozen (norm_eval) with gamma/beta
#   trained; 2x lr, no wd for biases/BN beta; SGD momentum 0.9, wd 5e-4;
#   test at longer side 500, softmax averaged with the flipped image (--tta).
# mmseg's defaults (the paper gives no VOC schedule): 4 GPUs x 4 images,
#   40k iterations of poly lr from 0.0016, validation every 4k iterations.
_base_ = [
    '../_base_/models/twoconv_wider-resnet38-a1-d8.py',
    '../_base_/datasets/pascal_voc12_aug_wider-resnet-504x504.py',
    'mmseg::_base_/default_runtime.py',
    '../_base_/guards.py',
    '../_base_/schedules/paper_sgd_40k.py',
]
crop_size = (504, 504)
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=21))
