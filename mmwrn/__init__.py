"""mmwrn: the Wider ResNet-38 family (Wu, Shen & van den Hengel) and Wide ResNets
for mmsegmentation and mmpretrain. Importing mmwrn registers its models and
training hooks and its classification names in mmpretrain
(:mod:`mmwrn.model_zoo`), and turns on the host mends of
:func:`mmwrn.host_mends.defaults` (``MMWRN_HOST_MENDS`` overrides them). The
others (safe checkpoint loading, atomic saves) are turned on by mmwrn's tools,
its shipped configs (``custom_imports``: :mod:`mmwrn.enable_host_mends`) or
:func:`mmwrn.host_mends.enable`, so that importing mmwrn into a process that
runs other OpenMMLab code leaves its checkpoint reads and writes as they were."""

from . import checkpoint, datasets, engine, evaluation, host_mends, models  # noqa: F401
from .model_zoo import get_config_path, register_model_index
from .version import __version__

register_model_index()
_names = host_mends.from_environment()
if _names:
    host_mends.enable(*_names)
del _names

__all__ = [
    '__version__',
    'models',
    'engine',
    'checkpoint',
    'host_mends',
    'get_config_path',
    'register_model_index',
]
