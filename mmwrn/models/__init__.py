from .backbones import WideResNet, WiderResNet
from .decode_heads import TwoConvHead
from .losses import BootstrappedCrossEntropyLoss
from .utils import PreActResidualUnit

__all__ = [
    'WiderResNet', 'WideResNet', 'TwoConvHead', 'BootstrappedCrossEntropyLoss',
    'PreActResidualUnit'
]
