"""mmwrn's model zoo at run time: where its configs and metafiles are, config
names that resolve in both hosts, and what to do when a named model's
checkpoint is missing.

* mmpretrain: the classification metafiles are registered in ``ModelHub``, so
  ``mmpretrain.get_model(name)`` and ``list_models('wider*')`` know them.
* mmseg: ``MMSegInferencer(model=name)`` resolves the segmentation configs.
  mmseg has no way for a plugin to register a model index, so its
  inferencer's metafile lookup is extended (once, at import): mmwrn's names
  first, then mmseg's own.
* ``get_config_path(name)``: the config file of a name, for APIs that take a
  file (``mmseg.apis.init_model``, ``tools/train.py``).

The configs, tools and ``model-index.yml`` live in ``mmwrn/.mim/`` in an
installed wheel (OpenMMLab's layout, what ``mim`` reads) and at the top of the
checkout in a source tree or editable install.
"""
import os.path as osp
from functools import lru_cache

import yaml
from mmengine.logging import print_log

PACKAGE_DIR = osp.dirname(osp.abspath(__file__))
HOST_OF_TASK = {'Image Classification': 'mmpretrain', 'Semantic Segmentation': 'mmseg'}
CONVERTERS = {'ademxapp': 'ademxapp2mmwrn.py', 'iabn': 'port2mmwrn.py', 'nv': 'port2mmwrn.py',
              'psa': 'port2mmwrn.py'}


def mim_root():
    """The folder holding ``configs/``, ``tools/`` and ``model-index.yml``, or
    None when neither an installed ``.mim`` nor a checkout has them."""
    for root in (osp.join(PACKAGE_DIR, '.mim'), osp.dirname(PACKAGE_DIR)):
        if osp.isfile(osp.join(root, 'model-index.yml')):
            return root
    return None


@lru_cache()
def load_model_index():
    """``{lower-case name: entry}`` of every model in mmwrn's model index, each
    entry with ``Name``, ``Config`` (absolute), ``Weights``, ``host`` and, for
    converted weights, ``Converted From``."""
    root = mim_root()
    if root is None:
        return {}
    with open(osp.join(root, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    models, invalid = {}, []
    for metafile in index.get('Import', []):
        with open(osp.join(root, metafile)) as f:
            for entry in yaml.safe_load(f).get('Models', []):
                hosts = {HOST_OF_TASK.get(r.get('Task')) for r in entry.get('Results') or []}
                if len(hosts) != 1 or None in hosts:
                    invalid.append(entry['Name'])
                    continue
                models[entry['Name'].lower()] = dict(
                    entry, Config=osp.join(root, entry['Config']), host=hosts.pop(),
                    metafile=osp.join(root, metafile))
    if invalid:
        print_log(f'mmwrn: model index entries without one Results task of '
                  f'{tuple(HOST_OF_TASK)} are ignored: {invalid}', 'current', level=30)
    return models


def get_config_path(name):
    """The config file of an mmwrn model name (e.g.
    ``'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504'``)."""
    entry = load_model_index().get(name.lower())
    if entry is None:
        raise ValueError(f'{name!r} is not an mmwrn model name; '
                         f'valid: {sorted(load_model_index())}')
    return entry['Config']


def missing_checkpoint_hint(path):
    """How to obtain a checkpoint file that a model of the zoo expects (its
    ``Weights``) but that does not exist, or '' for other files."""
    base = osp.basename(path)
    for entry in load_model_index().values():
        if osp.basename(entry.get('Weights') or '') != base:
            continue
        config = osp.relpath(entry['Config'], mim_root())
        source = entry.get('Converted From')
        if source:
            converter = CONVERTERS[source['Format']]
            return (f'{base} is the converted checkpoint of {entry["Name"]}; mmwrn cannot '
                    f'ship it. Get {source["Weights"]} ({source["Code"]}) and convert it:\n'
                    f'  python tools/model_converters/{converter} {source["Weights"]} '
                    f'{path} --config {config}\n'
                    '(README "Converting the published weights").')
        return (f'{base} would be the trained checkpoint of {entry["Name"]}; no published '
                'weights exist for it. Train it (python tools/train.py '
                f'{config}, or mim train mmwrn {osp.basename(config)}) and copy the final '
                f'checkpoint to {path}.')
    return ''


def register_model_index():
    """Register the classification models in mmpretrain's ModelHub and extend
    mmseg's inferencer to find the segmentation models. Idempotent; returns
    whether mmwrn's model index was found."""
    models = load_model_index()
    if not models:
        print_log('mmwrn: model-index.yml not found (neither in mmwrn/.mim nor in a '
                  'checkout): mmwrn config names will not resolve; install mmwrn from a '
                  'wheel or `pip install .`', 'current', level=30)
        return False
    _register_in_mmpretrain(models)
    _extend_mmseg_inferencer()
    return True


def _register_in_mmpretrain(models):
    from mmpretrain.apis import ModelHub
    metafiles = sorted({e['metafile'] for e in models.values() if e['host'] == 'mmpretrain'})
    for metafile in metafiles:
        first = next(e['Name'] for e in models.values() if e['metafile'] == metafile)
        if not ModelHub.has(first):
            ModelHub.register_model_index(metafile, config_prefix=mim_root())


def _extend_mmseg_inferencer():
    from mmengine.config import Config
    from mmseg.apis import MMSegInferencer
    lookup = MMSegInferencer._load_model_from_metafile
    if getattr(lookup, 'mmwrn', False):
        return

    def load_model_from_metafile(self, model):
        entry = load_model_index().get(model.lower())
        if entry is None or entry['host'] != 'mmseg':
            return lookup(self, model)
        return Config.fromfile(entry['Config']), entry.get('Weights')

    load_model_from_metafile.mmwrn = True
    MMSegInferencer._load_model_from_metafile = load_model_from_metafile
