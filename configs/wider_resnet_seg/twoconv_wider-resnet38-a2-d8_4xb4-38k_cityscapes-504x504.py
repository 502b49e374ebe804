# Cityscapes (fine, 2,975 train images): Model A2 (the paper's Cityscapes test-set
# model; IABN's down-sampling: pools before B2 and B3, strided units in B4-B6) at output
# stride 8 + the "2 conv." head; otherwise the A1 recipe of
# twoconv_wider-resnet38-a1-d8_4xb4-38k_cityscapes-504x504.py (see its header).
# Reported results, with their sources: the model table of README.md in this folder.
# A2 has A1's parameters; it is initialised from the same ImageNet A1 classifier.
_base_ = ['./twoconv_wider-resnet38-a1-d8_4xb4-38k_cityscapes-504x504.py']
model = dict(backbone=dict(variant='a2'))
