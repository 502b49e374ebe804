from .backbones import WideResNet_CIFAR, WiderResNet
from .decode_heads import TwoConvHead
from .losses import BootstrappedCrossEntropyLoss
from .utils import PreActResidualUnit

__all__ = [
    'WiderResNet', 'WideResNet_CIFAR', 'TwoConvHead', 'BootstrappedCrossEntropyLoss',
    'PreActResidualUnit'
]
