from .wide_resnet_cifar import WideResNet_CIFAR
from .wider_resnet import WiderResNet

__all__ = ['WiderResNet', 'WideResNet_CIFAR']
