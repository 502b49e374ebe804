# CIFAR-10: WRN-28-10 (dropout 0.3) with the WRN recipe: SGD Nesterov 0.9, lr 0.1 x0.2 at
# epochs 60/120/160, 200 epochs, wd 5e-4, batch 128, reflect-pad crop + flip, WRN
# normalisation.
# Reported results, with their sources: the model table of README.md in this folder.
_base_ = [
    '../_base_/models/wrn-28-10_cifar.py',
    '../_base_/datasets/cifar10_bs128_wrn.py',
    '../_base_/schedules/cifar_bs128_wrn-200e.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/guards.py',
]
model = dict(
    backbone=dict(depth=28, widen_factor=10, drop_rate=0.3),
    head=dict(num_classes=10, in_channels=640),
)
