from .wide_resnet import WideResNet
from .wider_resnet import WiderResNet

__all__ = ['WiderResNet', 'WideResNet']
