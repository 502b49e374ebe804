"""mmwrn: the Wider ResNet-38 family (Wu, Shen & van den Hengel) and Wide ResNets
for mmsegmentation and mmpretrain. Importing mmwrn registers its models and
training hooks, makes its config names resolve in mmpretrain and mmseg
(:mod:`mmwrn.model_zoo`), makes mmengine's checkpoint loading safe on every
supported torch (:mod:`mmwrn.checkpoint`) and its local checkpoint writes
atomic (:mod:`mmwrn.engine.atomic_backend`)."""
from . import checkpoint, datasets, engine, evaluation, models  # noqa: F401  (registers)
from .engine.atomic_backend import install_atomic_backend
from .model_zoo import get_config_path, register_model_index
from .version import __version__

checkpoint.install()
install_atomic_backend()
register_model_index()

__all__ = ['__version__', 'models', 'engine', 'checkpoint', 'get_config_path',
           'register_model_index']
