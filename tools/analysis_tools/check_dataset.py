"""Check the datasets of a segmentation config before training.

Scans every sample of the train and val sets (ConcatDataset / RepeatDataset
included) and reports, naming each file:

* an image or label map that is missing or cannot be decoded;
* an image and label map of different sizes;
* label values outside ``0 .. num_classes - 1`` and the ignore index, after the
  dataset's ``reduce_zero_label`` (the classic cause of an opaque CUDA assert
  deep in the loss).

    python tools/analysis_tools/check_dataset.py CONFIG [--splits train val]
        [--cfg-options k=v ...] [--max-report 50]

Exits with status 1 when anything is wrong, 0 when the data are clean.
"""

import argparse
import os.path as osp
import sys
from collections import Counter

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import numpy as np  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from PIL import Image  # noqa: E402

import mmwrn  # noqa: E402,F401

SPLITS = {'train': 'train_dataloader', 'val': 'val_dataloader', 'test': 'test_dataloader'}


def leaf_datasets(dataset):
    """The BaseSegDatasets inside wrappers (ConcatDataset, RepeatDataset, ...)."""
    if hasattr(dataset, 'datasets'):
        return [d for sub in dataset.datasets for d in leaf_datasets(sub)]
    if hasattr(dataset, 'dataset'):
        return leaf_datasets(dataset.dataset)
    return [dataset]


def read(path, what):
    """Decoded array of an image file, or an error string."""
    if not osp.isfile(path):
        return f'{what} missing'
    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img)
    except Exception as e:  # noqa: BLE001 - any decoding failure is the finding
        return f'{what} unreadable ({e.__class__.__name__}: {e})'


def check_sample(info, num_classes, ignore_index, reduce_zero_label):
    """Problems of one sample: a list of (file, message)."""
    img_path, seg_path = info['img_path'], info.get('seg_map_path')
    problems = []
    img = read(img_path, 'image')
    if isinstance(img, str):
        problems.append((img_path, img))
    if seg_path is None:
        return problems
    label = read(seg_path, 'label map')
    if isinstance(label, str):
        return problems + [(seg_path, label)]
    if label.ndim != 2:
        return problems + [
            (
                seg_path,
                f'label map has shape {label.shape}; expected a '
                'single-channel (or palette) PNG of class indices',
            )
        ]
    if not isinstance(img, str) and img.shape[:2] != label.shape:
        problems.append(
            (
                seg_path,
                f'size {label.shape[1]}x{label.shape[0]} differs from '
                f'its image {img_path} ({img.shape[1]}x{img.shape[0]})',
            )
        )
    values = label.astype(np.int64)
    if reduce_zero_label:  # as mmseg's LoadAnnotations
        values = np.where(values == 0, 255, values - 1)
        values = np.where(values == 254, 255, values)
    bad = np.unique(values[(values != ignore_index) & ((values < 0) | (values >= num_classes))])
    if bad.size:
        raw = (bad + 1) if reduce_zero_label else bad
        problems.append(
            (
                seg_path,
                f'label values {raw.tolist()} outside the {num_classes} '
                f'classes (0..{num_classes - 1}'
                f'{", shifted by reduce_zero_label" if reduce_zero_label else ""}) '
                f'and the ignore index {ignore_index}',
            )
        )
    return problems


def check_split(cfg, split):
    from mmseg.registry import DATASETS

    loader = cfg.get(SPLITS[split])
    if not loader:
        return None, []
    dataset = DATASETS.build(loader['dataset'])
    problems, count = [], 0
    for leaf in leaf_datasets(dataset):
        num_classes = len(leaf.metainfo['classes'])
        reduce_zero_label = leaf.metainfo.get('reduce_zero_label', False)
        ignore_index = getattr(leaf, 'ignore_index', 255)
        for info in leaf.load_data_list():
            count += 1
            problems += check_sample(info, num_classes, ignore_index, reduce_zero_label)
    return count, problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'], choices=list(SPLITS))
    parser.add_argument(
        '--max-report', type=int, default=50, help='problems printed per split (all are counted)'
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmseg'))

    total = 0
    for split in args.splits:
        count, problems = check_split(cfg, split)
        if count is None:
            print(f'[{split}] no {SPLITS[split]} in the config')
            continue
        total += len(problems)
        print(f'[{split}] {count} samples checked, {len(problems)} problems')
        for path, message in problems[: args.max_report]:
            print(f'  {path}: {message}')
        if len(problems) > args.max_report:
            kinds = Counter(m.split(' (')[0].split(' outside')[0] for _, m in problems)
            print(f'  ... {len(problems) - args.max_report} more; by kind: {dict(kinds)}')
    print('dataset check: ' + ('OK' if total == 0 else f'{total} problems found'))
    return 1 if total else 0


if __name__ == '__main__':
    sys.exit(main())
