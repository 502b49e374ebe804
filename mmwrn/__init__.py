"""mmwrn: the Wider ResNet-38 family (Wu, Shen & van den Hengel) and Wide ResNets
for mmsegmentation and mmpretrain. Importing mmwrn registers its models, makes
its classifiers findable by ``mmpretrain.get_model`` and makes mmengine's
checkpoint loading work, weights-only, on torch >= 2.6."""
from . import checkpoint, models  # noqa: F401  (models: registers them)
from .model_index import register_model_index
from .version import __version__

checkpoint.install()
register_model_index()

__all__ = ['__version__', 'models', 'checkpoint', 'register_model_index']
