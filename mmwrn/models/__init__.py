from .backbones import WideResNet_CIFAR, WiderResNet
from .decode_heads import TwoConvHead
from .heads import CAMClsHead
from .losses import BootstrappedCrossEntropyLoss
from .utils import PreActResidualUnit

__all__ = [
    'WiderResNet',
    'WideResNet_CIFAR',
    'TwoConvHead',
    'CAMClsHead',
    'BootstrappedCrossEntropyLoss',
    'PreActResidualUnit',
]
