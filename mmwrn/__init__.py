"""mmwrn: the Wider ResNet-38 family (Wu, Shen & van den Hengel) and Wide ResNets
for mmsegmentation and mmpretrain. Importing mmwrn registers its models and
training hooks, makes its classifiers findable by ``mmpretrain.get_model``,
makes mmengine's checkpoint loading work, weights-only, on torch >= 2.6 and
its local checkpoint writes atomic."""
from . import checkpoint, engine, models  # noqa: F401  (registers models, hooks)
from .model_index import register_model_index
from .version import __version__

checkpoint.install()
register_model_index()

__all__ = ['__version__', 'models', 'engine', 'checkpoint', 'register_model_index']
