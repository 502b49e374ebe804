"""Host mends: every change mmwrn makes to its hosts (mmengine, torch, mmseg)
beyond registering its own modules, in one place, behind one switch.

A mend changes process-wide state that other OpenMMLab code shares: a
process that builds an mmdet model from a config listing ``mmwrn`` in its
``custom_imports`` would otherwise read and write every checkpoint
differently. So a plain ``import mmwrn`` registers modules and turns on only
what :func:`defaults` names (the mend without which the host cannot load its
own checkpoints); mmwrn's tools, its shipped configs (``custom_imports`` lists
:mod:`mmwrn.enable_host_mends`) and :func:`enable` turn on all of them.

============================  ========================================================
``safe_loading``              mmengine's checkpoint loader for local paths and
                              ``http(s)://`` URLs (its public
                              ``CheckpointLoader.register_scheme``) becomes
                              :func:`mmwrn.checkpoint.load_from_local` /
                              :func:`~mmwrn.checkpoint.load_from_http`: weights-only
                              loading, no code from a checkpoint ever runs, clear
                              errors for refused objects, corrupt files and missing
                              model-zoo checkpoints. Implies ``weights_only_types``.
``atomic_saves``              mmengine's ``local`` file backend (public
                              ``register_backend``) becomes
                              :class:`~mmwrn.engine.atomic_backend.AtomicLocalBackend`:
                              checkpoints and other writes replace their target
                              atomically.
``weights_only_types``        the types mmengine itself writes into checkpoints
                              (``HistoryBuffer``, numpy arrays, dtypes, scalars) are
                              added to torch's weights-only allow-list
                              (``torch.serialization.add_safe_globals``, torch >= 2.4).
``mmseg_names``               ``MMSegInferencer(model=NAME)`` also resolves mmwrn's
                              segmentation model names (mmseg has no public way for a
                              plugin to add names: its inferencer's metafile lookup is
                              extended; every other name resolves as before).
============================  ========================================================

Default of ``import mmwrn`` (:func:`defaults`): ``weights_only_types``, only on
torch >= 2.6 with mmengine < 0.11 (logged once). There torch loads weights-only
by default and mmengine calls ``torch.load`` without ``weights_only``, so
mmengine cannot load (resume) its own checkpoints at all; the mend only makes
loads that failed succeed, for exactly those types. ``mmseg_names`` is off at
import (it replaces a private method of mmseg's inferencer); the public way
needs no mend: ``MMSegInferencer(model=mmwrn.get_config_path(name),
weights=mmwrn.model_zoo.weights_of(name))``.

``MMWRN_HOST_MENDS`` overrides the defaults of ``import mmwrn``: ``all``, ``none``
or a comma-separated list of mend names.
"""

import os

import torch
from mmengine.logging import print_log
from mmengine.utils import digit_version

#: the environment variable that sets what ``import mmwrn`` turns on
ENV_VAR = 'MMWRN_HOST_MENDS'

_enabled = set()


def _torch_version():
    return digit_version(torch.__version__.split('+')[0])


def _weights_only_types():
    from mmwrn.checkpoint import HAS_SAFE_GLOBALS, mmengine_checkpoint_types

    if not HAS_SAFE_GLOBALS:
        # torch < 2.4 has no allow-list: safe_loading unpickles with mmwrn's own
        print_log(
            f'mmwrn: torch {torch.__version__} has no add_safe_globals: the '
            'weights_only_types mend does nothing (safe_loading unpickles '
            "checkpoints with mmwrn's restricted unpickler instead)",
            'current',
        )
        return
    torch.serialization.add_safe_globals(mmengine_checkpoint_types())
    if host_is_broken():
        import mmengine

        print_log(
            f'mmwrn: torch {torch.__version__} loads weights-only by default and '
            f'mmengine {mmengine.__version__} calls torch.load without weights_only: '
            'the types mmengine writes into checkpoints (HistoryBuffer, numpy arrays, '
            "dtypes, scalars) are added to torch's safe globals",
            'current',
        )


def _safe_loading():
    from mmengine.runner import CheckpointLoader

    from mmwrn.checkpoint import load_from_http, load_from_local

    enable('weights_only_types')
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), loader=load_from_http, force=True
    )


def _atomic_saves():
    from mmengine.fileio import register_backend

    from mmwrn.engine.atomic_backend import AtomicLocalBackend

    register_backend('local', AtomicLocalBackend, force=True, prefixes='')


def _mmseg_names():
    from mmengine.config import Config
    from mmseg.apis import MMSegInferencer

    from mmwrn.model_zoo import load_model_index

    lookup = getattr(MMSegInferencer, '_load_model_from_metafile', None)
    if lookup is None:  # an mmengine whose inferencer resolves names otherwise
        print_log(
            'mmwrn: this mmseg/mmengine has no MMSegInferencer._load_model_from_metafile;'
            ' mmwrn names do not resolve in MMSegInferencer: pass '
            'model=mmwrn.get_config_path(name)',
            'current',
            level=30,
        )
        return

    def load_model_from_metafile(self, model):
        entry = load_model_index().get(model.lower())
        if entry is None or entry['host'] != 'mmseg':
            return lookup(self, model)
        return Config.fromfile(entry['Config']), entry.get('Weights')

    MMSegInferencer._load_model_from_metafile = load_model_from_metafile


#: ``{name: (function that applies the mend, one-line description)}``
MENDS = {
    'safe_loading': (
        _safe_loading,
        'weights-only checkpoint loading for local paths and http(s) URLs, with clear errors',
    ),
    'atomic_saves': (_atomic_saves, "atomic writes through mmengine's local file backend"),
    'weights_only_types': (
        _weights_only_types,
        "the types mmengine writes allowed in torch's weights-only loading",
    ),
    'mmseg_names': (_mmseg_names, "mmwrn's segmentation names in MMSegInferencer(model=...)"),
}


def _check_names(names, source):
    unknown = sorted(set(names) - set(MENDS))
    if unknown:
        raise ValueError(
            f'{source}: unknown host mend(s) {unknown}; valid: {sorted(MENDS)}'
            + (', all, none' if source == ENV_VAR else '')
        )


def enable(*names):
    """Turn on the mends ``names`` (all of :data:`MENDS` when none is given).
    Idempotent; returns :func:`enabled`. Mends cannot be turned off again
    (the host's previous state is not kept): decide before the first
    checkpoint is read or written."""
    names = names or tuple(MENDS)
    _check_names(names, 'enable')
    for name in names:
        if name not in _enabled:
            MENDS[name][0]()
            _enabled.add(name)
    return enabled()


def enabled():
    """The names of the mends that are on, sorted."""
    return tuple(sorted(_enabled))


def host_is_broken():
    """Whether mmengine cannot load its own checkpoints here: torch >= 2.6 loads
    weights-only by default and mmengine < 0.11 (the versions mmwrn supports)
    calls ``torch.load`` without ``weights_only``."""
    import mmengine

    return _torch_version() >= digit_version('2.6.0') and digit_version(
        mmengine.__version__
    ) < digit_version('0.11.0')


def defaults():
    """The mends a plain ``import mmwrn`` turns on when ``MMWRN_HOST_MENDS`` is
    unset (see the module docstring for why)."""
    return ('weights_only_types',) if host_is_broken() else ()


def from_environment(value=None):
    """The mends ``import mmwrn`` turns on: ``MMWRN_HOST_MENDS`` (``value``
    when given) parsed, or :func:`defaults` when it is unset or empty."""
    value = os.environ.get(ENV_VAR, '') if value is None else value
    value = value.strip().lower()
    if not value:
        return defaults()
    if value == 'all':
        return tuple(MENDS)
    if value == 'none':
        return ()
    names = tuple(n.strip() for n in value.split(',') if n.strip())
    _check_names(names, ENV_VAR)
    return names
