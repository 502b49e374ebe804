"""Shared steps of the checkpoint converters: check the architecture and the
converted state dict against the model a config builds, report what does not
match, and write a checkpoint that the hosts' APIs load, with its source in
``meta``."""

import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmwrn.utils.outputs import save_torch
from .architecture import check_architecture, describe_source, mismatch_message


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
    return {
        k: list(map(list, v)) if k == 'palette' else list(v)
        for k, v in meta.items()
        if k in ('classes', 'palette')
    }


def check_against_model(state_dict, model):
    """Compare with ``model.state_dict()``: raise on shape mismatches, return
    (missing, unexpected) key lists. BN ``num_batches_tracked`` counters, which
    no source framework has, are filled with 0 when missing."""
    target = model.state_dict()
    for k in target:
        if k.endswith('num_batches_tracked') and k not in state_dict:
            state_dict[k] = torch.zeros_like(target[k])
    mismatched = [
        f'{k}: converted {tuple(v.shape)}, model {tuple(target[k].shape)}'
        for k, v in state_dict.items()
        if k in target and v.shape != target[k].shape
    ]
    if mismatched:
        raise ConversionError(
            "converted weights do not fit the config's model "
            '(wrong config or wrong file?):\n  ' + '\n  '.join(mismatched)
        )
    missing = sorted(set(target) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(target))
    return missing, unexpected


def report(title, names):
    if names:
        print(f'{title} ({len(names)}):')
        for n in names:
            print(f'  {n}')


def banner(lines):
    width = max(len(line) for line in lines)
    print('!' * (width + 4))
    for line in lines:
        print(f'! {line.ljust(width)} !')
    print('!' * (width + 4))


HEAD_OF_HOST = {'classifier': 'head.', 'segmentor': 'decode_head.'}


def convert_and_save(
    state_dict, unused, config, out, src, source, fmt, source_head=None, notes=(), init_only=False
):
    """Check ``state_dict`` (converted from file ``src`` of format ``fmt``,
    the network ``architecture.SOURCES[source]``) against ``config``'s model
    and save an mmengine checkpoint with ``meta.dataset_meta`` and
    ``meta.converted_from``.

    * A head the model has no place for is dropped, with a notice: an
      ImageNet classifier (``head.*``) converted into a segmenter, or a
      segmentation head (``decode_head.*``) into a classifier.
    * Levels the config's backbone does not build (after its deepest
      output, e.g. B7 of the ``-b6`` configs) are dropped, with a notice.
    * The architecture is compared (``architecture.check_architecture``; for a
      kept source head ``source_head`` too): a mismatch is an error naming the
      setting, unless ``init_only`` (converted for fine-tuning only: printed
      and recorded in meta).
    * Names and shapes: a shape mismatch, a converted tensor the model lacks,
      or a missing backbone tensor is an error, as is a missing tensor of a
      converted head. Other missing tensors (a head the source does not have)
      keep their initialisation and are listed.

    ``out`` is written atomically and may not be ``src`` or the config
    (:class:`mmwrn.utils.outputs.OutputError`, naming the path and reason).
    """
    model, cfg = build_model(config)
    kind = 'segmentor' if hasattr(model, 'decode_head') else 'classifier'
    notes = list(notes)
    for other, prefix in HEAD_OF_HOST.items():
        dropped = sorted(k for k in state_dict if k.startswith(prefix))
        if other != kind and dropped:
            for k in dropped:
                del state_dict[k]
            what = (
                ('CAM classifier' if 'head.fc8.weight' in dropped else 'ImageNet classifier')
                if other == 'classifier'
                else 'segmentation head'
            )
            notes.append(
                f"dropped the source's {what} ({len(dropped)} tensors: "
                f'{", ".join(dropped)}): {cfg.filename} is a {kind} config; '
                'the backbone is converted'
            )
            source_head = None
    unbuilt = model.backbone.unbuilt_modules() if hasattr(model.backbone, 'unbuilt_modules') else ()
    skipped = sorted(
        k for k in state_dict if k.startswith('backbone.') and k.split('.')[1] in unbuilt
    )
    if skipped:
        for k in skipped:
            del state_dict[k]
        names = sorted({k.split('.')[1] for k in skipped})
        notes.append(
            f'dropped {", ".join(names)} ({len(skipped)} tensors): the backbone of '
            f'{cfg.filename} is built only up to its deepest output (out_indices '
            f'{tuple(model.backbone.out_indices)}), as loading a full checkpoint into '
            'it does'
        )
    problems = check_architecture(source, model, head=source_head)
    if problems and not init_only:
        raise ConversionError(mismatch_message(source, problems, cfg.filename))
    if problems:
        banner(
            ['--init-only: NOT the source network. The weights initialise a different one:']
            + [f'  {s}: source {n}, config {h}' for s, n, h in problems]
            + ['Fine-tune before use; meta.converted_from records this.']
        )
    converted_heads = tuple(
        p for p in HEAD_OF_HOST.values() if any(k.startswith(p) for k in state_dict)
    )
    missing, unexpected = check_against_model(state_dict, model)
    for note in notes:
        print(f'note: {note}')
    report('source parameters not converted', unused)
    required = [k for k in missing if k.startswith(('backbone.',) + converted_heads)]
    kept = [k for k in missing if k not in required]
    report('model parameters the source does not have (kept at initialisation)', kept)
    report('model parameters missing from the source', required)
    report('converted parameters the model does not have', unexpected)
    if unexpected or required:
        raise ConversionError(
            f'{src} does not match {cfg.filename}: '
            f'{len(required)} missing, {len(unexpected)} unexpected keys '
            '(listed above)'
        )
    model.load_state_dict(state_dict, strict=not missing)
    converted_from = dict(
        file=osp.basename(src),
        format=fmt,
        architecture=describe_source(source, model),
        init_only=bool(problems),
        notes=notes,
    )
    if problems:
        converted_from['mismatches'] = [
            dict(setting=s, source=str(n), config=str(h)) for s, n, h in problems
        ]
    meta = dict(
        dataset_meta=dataset_meta(cfg),
        converted_from=converted_from,
        config=osp.basename(cfg.filename),
    )
    save_torch({'state_dict': model.state_dict(), 'meta': meta}, out, inputs=(src, cfg.filename))
    print(f'wrote {out}: {len(state_dict)} tensors from {src}')
    return out
