"""mmwrn's model registry and registration into the host packages.

Every model class of mmwrn is registered under the same name in its hosts'
registries and in mmwrn's own:

* in ``mmseg.registry.MODELS``, so ``type='WiderResNet'`` works in configs with
  ``default_scope='mmseg'`` once mmwrn is imported (``custom_imports``);
* in ``mmpretrain.registry.MODELS``, likewise for ``default_scope='mmpretrain'``;
* the backbones also in ``mmdet.registry.MODELS`` (``default_scope='mmdet'``)
  when mmdetection is installed. mmdet is optional: only its light
  ``mmdet.registry`` module is imported (mmseg imports it anyway where mmdet
  is installed), never ``mmdet.models``; without mmdet, or with an mmdet that
  does not import (e.g. its mmcv range), the mmdet registration is skipped
  (the latter with one warning naming the error);
* in mmwrn's own ``MODELS`` (scope ``mmwrn``, a child of mmengine's root
  registry). This makes ``type='mmwrn.WiderResNet'`` work in any scope
  *without* ``custom_imports``: mmengine imports ``mmwrn.registry`` when it
  meets the ``mmwrn.`` prefix, and this registry imports ``mmwrn.models``.

mmwrn's training hooks (``mmwrn.engine``) are registered the same way in the
hosts' ``HOOKS`` and in mmwrn's ``HOOKS`` (:func:`register_hook`).
"""

import importlib
import importlib.util

from mmengine.logging import print_log
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmwrn', locations=['mmwrn.models'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmwrn', locations=['mmwrn.engine'])


# hosts mmwrn requires / hosts it registers in only where they are installed
REQUIRED_HOSTS = ('mmseg', 'mmpretrain')
OPTIONAL_HOSTS = ('mmdet',)
HOSTS = REQUIRED_HOSTS + OPTIONAL_HOSTS
# the backbones' hosts (the heads and losses name theirs)
BACKBONE_HOSTS = HOSTS
_unusable = {}  # optional host -> why it is skipped (warned once)


def host_registry_module(host):
    """``<host>.registry``, or None for an optional host that is not installed
    or does not import (warned once, with the error)."""
    if host in REQUIRED_HOSTS:
        return importlib.import_module(f'{host}.registry')
    if host in _unusable:
        return None
    if importlib.util.find_spec(host) is None:
        _unusable[host] = 'not installed'
        return None
    try:
        return importlib.import_module(f'{host}.registry')
    except (ImportError, AssertionError) as e:  # OpenMMLab packages assert their mmcv range
        _unusable[host] = f'{type(e).__name__}: {e}'
        print_log(
            f'mmwrn: {host} is installed but does not import ({_unusable[host]}); '
            f"mmwrn's models are not registered in {host}'s registries",
            'current',
            level=30,
        )
        return None


def register_model(cls=None, *, hosts=REQUIRED_HOSTS, name=None):
    """Register ``cls`` (a class, or a function that builds one) in mmwrn's
    registry and in the given host registries, under ``name`` (default: its
    own name). Optional hosts (``'mmdet'``) are skipped where they are not
    installed.

    Usable as ``@register_model`` or ``@register_model(hosts=('mmseg', ))``.
    """
    unknown = set(hosts) - set(HOSTS)
    if unknown:
        raise ValueError(f'unknown host registries {sorted(unknown)}; valid: {HOSTS}')

    def _register(cls):
        MODELS.register_module(name=name, module=cls)
        for host in hosts:
            module = host_registry_module(host)
            if module is not None:
                module.MODELS.register_module(name=name, module=cls)
        return cls

    return _register if cls is None else _register(cls)


def register_hook(cls):
    """Register the hook class ``cls`` in mmwrn's ``HOOKS`` and in the hosts'
    ``HOOKS`` (mmseg's, mmpretrain's and, where installed, mmdet's; usable as a
    decorator), so that ``type='Name'`` (with mmwrn imported) and
    ``type='mmwrn.Name'`` build it in each host's scope."""
    HOOKS.register_module(module=cls)
    for host in HOSTS:
        module = host_registry_module(host)
        if module is not None:
            module.HOOKS.register_module(module=cls)
    return cls
