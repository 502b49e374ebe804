"""mmwrn's model registry and registration into the host packages.

Every model class of mmwrn is registered three times under the same name:

* in ``mmseg.registry.MODELS``, so ``type='WiderResNet'`` works in configs with
  ``default_scope='mmseg'`` once mmwrn is imported (``custom_imports``);
* in ``mmpretrain.registry.MODELS``, likewise for ``default_scope='mmpretrain'``;
* in mmwrn's own ``MODELS`` (scope ``mmwrn``, a child of mmengine's root
  registry). This makes ``type='mmwrn.WiderResNet'`` work in any scope
  *without* ``custom_imports``: mmengine imports ``mmwrn.registry`` when it
  meets the ``mmwrn.`` prefix, and this registry imports ``mmwrn.models``.

mmwrn's training hooks (``mmwrn.engine``) are registered the same way in the
hosts' ``HOOKS`` and in mmwrn's ``HOOKS`` (:func:`register_hook`).
"""
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry

MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope='mmwrn', locations=['mmwrn.models'])
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope='mmwrn', locations=['mmwrn.engine'])


def _host_registries():
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    from mmseg.registry import MODELS as MMSEG_MODELS
    return MMSEG_MODELS, MMPRETRAIN_MODELS


def register_model(cls=None, *, hosts=('mmseg', 'mmpretrain'), name=None):
    """Register ``cls`` (a class, or a function that builds one) in mmwrn's
    registry and in the given host registries, under ``name`` (default: its
    own name).

    Usable as ``@register_model`` or ``@register_model(hosts=('mmseg', ))``.
    """
    valid = ('mmseg', 'mmpretrain')
    unknown = set(hosts) - set(valid)
    if unknown:
        raise ValueError(f'unknown host registries {sorted(unknown)}; valid: {valid}')

    def _register(cls):
        MODELS.register_module(name=name, module=cls)
        mmseg_models, mmpretrain_models = _host_registries()
        if 'mmseg' in hosts:
            mmseg_models.register_module(name=name, module=cls)
        if 'mmpretrain' in hosts:
            mmpretrain_models.register_module(name=name, module=cls)
        return cls

    return _register if cls is None else _register(cls)


def register_hook(cls):
    """Register the hook class ``cls`` in mmwrn's ``HOOKS`` and in mmseg's and
    mmpretrain's ``HOOKS`` (usable as a decorator), so that ``type='Name'``
    (with mmwrn imported) and ``type='mmwrn.Name'`` build it in either host's
    scope."""
    from mmpretrain.registry import HOOKS as MMPRETRAIN_HOOKS
    from mmseg.registry import HOOKS as MMSEG_HOOKS
    for registry in (HOOKS, MMSEG_HOOKS, MMPRETRAIN_HOOKS):
        registry.register_module(module=cls)
    return cls
