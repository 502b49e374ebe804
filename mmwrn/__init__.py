"""mmwrn: the Wider ResNet-38 family (Wu, Shen & van den Hengel) and Wide ResNets
for mmsegmentation and mmpretrain. Importing mmwrn registers its models."""
from . import models  # noqa: F401  (registers the models)
from .version import __version__

__all__ = ['__version__', 'models']
