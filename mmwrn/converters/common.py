"""Shared steps of the checkpoint converters: check a converted state dict
against the model a config builds, report what does not match, and write a
checkpoint that the hosts' APIs load."""
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope


class ConversionError(ValueError):
    """A source checkpoint does not match what the converter expects."""


def build_model(config):
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    scope = cfg.get('default_scope')
    if scope not in ('mmseg', 'mmpretrain'):
        raise ConversionError(f'{config}: default_scope must be mmseg or mmpretrain')
    import mmwrn  # noqa: F401
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model_cfg = cfg.model.copy()
    model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(model_cfg), cfg


def dataset_meta(cfg):
    """classes (and palette) of the config's test dataset."""
    scope = cfg.default_scope
    datasets = __import__(f'{scope}.registry', fromlist=['DATASETS']).DATASETS
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset or 'datasets' in dataset:
        dataset = dataset.get('dataset') or dataset['datasets'][0]
    with DefaultScope.overwrite_default_scope(scope):
        cls = datasets.get(dataset['type'])
    meta = getattr(cls, 'METAINFO', {})
    return {k: list(map(list, v)) if k == 'palette' else list(v)
            for k, v in meta.items() if k in ('classes', 'palette')}


def check_against_model(state_dict, model):
    """Compare with ``model.state_dict()``: raise on shape mismatches, return
    (missing, unexpected) key lists. BN ``num_batches_tracked`` counters, which
    no source framework has, are filled with 0 when missing."""
    target = model.state_dict()
    for k in target:
        if k.endswith('num_batches_tracked') and k not in state_dict:
            state_dict[k] = torch.zeros_like(target[k])
    mismatched = [f'{k}: converted {tuple(v.shape)}, model {tuple(target[k].shape)}'
                  for k, v in state_dict.items() if k in target and v.shape != target[k].shape]
    if mismatched:
        raise ConversionError('converted weights do not fit the config\'s model '
                              '(wrong config or wrong file?):\n  ' + '\n  '.join(mismatched))
    missing = sorted(set(target) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(target))
    return missing, unexpected


def report(title, names):
    if names:
        print(f'{title} ({len(names)}):')
        for n in names:
            print(f'  {n}')


def convert_and_save(state_dict, unused, config, out, source, optional_missing=(),
                     check_model=None):
    """Check ``state_dict`` against ``config``'s model, report unused source keys
    and missing/unexpected model keys, then save an mmengine checkpoint with
    ``meta.dataset_meta``. A missing key is an error unless it starts with one of
    ``optional_missing`` (e.g. the head, for a backbone-only source), which then
    keeps its initialisation. ``check_model(model)`` may refuse the config."""
    model, cfg = build_model(config)
    if check_model is not None:
        check_model(model)
    missing, unexpected = check_against_model(state_dict, model)
    report('source parameters not converted', unused)
    report('model parameters missing from the source (kept at initialisation)'
           if optional_missing else 'model parameters missing from the source', missing)
    report('converted parameters the model does not have', unexpected)
    required = [k for k in missing if not k.startswith(tuple(optional_missing))]
    if unexpected or required:
        raise ConversionError(f'{source} does not match {cfg.filename}: '
                              f'{len(required)} missing, {len(unexpected)} unexpected keys '
                              '(listed above)')
    model.load_state_dict(state_dict, strict=not missing)
    meta = dict(dataset_meta=dataset_meta(cfg), converted_from=osp.basename(source),
                config=osp.basename(cfg.filename))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save({'state_dict': model.state_dict(), 'meta': meta}, out)
    print(f'wrote {out}: {len(state_dict)} tensors from {source}')
    return out
