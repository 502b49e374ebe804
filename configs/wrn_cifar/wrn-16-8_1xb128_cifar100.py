# CIFAR-100: WRN-16-8 (no dropout) with the WRN recipe: SGD Nesterov 0.9, lr 0.1 x0.2 at
# epochs 60/120/160, 200 epochs, wd 5e-4, batch 128, reflect-pad crop + flip, WRN
# normalisation.
# Reported results, with their sources: the model table of README.md in this folder.
_base_ = [
    '../_base_/models/wrn-28-10_cifar.py',
    '../_base_/datasets/cifar100_bs128_wrn.py',
    '../_base_/schedules/cifar_bs128_wrn-200e.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/guards.py',
]
model = dict(
    backbone=dict(depth=16, widen_factor=8, drop_rate=0),
    head=dict(num_classes=100, in_channels=512),
)
