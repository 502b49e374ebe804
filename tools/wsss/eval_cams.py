"""mIoU of CAM files (tools/wsss/cam.py) + a background threshold against the
VOC masks, for every threshold of a sweep; prints the table and the best.

    python tools/wsss/eval_cams.py CAM_DIR --data-root data/VOCdevkit/VOC2012 \
        --list ImageSets/Segmentation/train.txt [--thresholds 0:0.61:0.01] \
        [--gt-dir SegmentationClass]

Uses mmwrn's registered metric ``CAMMIoUMetric``. PSA's published CAM mIoU
(train 47.7 / val 47.2) is at threshold 0.2 with ``SegmentationClass``.
"""

import argparse
import os.path as osp
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmwrn.apis.cam import load_cams  # noqa: E402
from mmwrn.datasets.voc_cls import WSSSDataError, read_image_list  # noqa: E402
from mmwrn.evaluation import CAMMIoUMetric  # noqa: E402


def parse_thresholds(text):
    if ':' in text:
        start, stop, step = map(float, text.split(':'))
        return tuple(round(float(t), 4) for t in np.arange(start, stop - 1e-9, step))
    return tuple(float(t) for t in text.split(','))


def evaluate(cam_dir, data_root, image_list, thresholds=None, gt_dir='SegmentationClass'):
    names = read_image_list(osp.join(data_root, image_list))
    missing = [n for n in names if not osp.isfile(osp.join(cam_dir, n + '.npz'))]
    if missing:
        raise WSSSDataError(
            f'{len(missing)} images of the list have no CAM file in {cam_dir} '
            f'(run tools/wsss/cam.py first): {missing[:5]}'
        )
    no_gt = [n for n in names if not osp.isfile(osp.join(data_root, gt_dir, n + '.png'))]
    if no_gt:
        raise WSSSDataError(
            f'{len(no_gt)} images have no mask in {osp.join(data_root, gt_dir)}: {no_gt[:5]}'
        )
    metric = CAMMIoUMetric(**({} if thresholds is None else dict(thresholds=thresholds)))
    for n in names:
        labels, cams = load_cams(osp.join(cam_dir, n + '.npz'))
        gt = np.asarray(Image.open(osp.join(data_root, gt_dir, n + '.png')))
        metric.process(None, [dict(cams=cams, cam_labels=labels, gt_sem_seg=gt)])
    return metric.evaluate(len(names))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('cam_dir')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--list', required=True)
    parser.add_argument(
        '--thresholds',
        type=parse_thresholds,
        help='start:stop:step or a list (default 0:0.61:0.01)',
    )
    parser.add_argument('--gt-dir', default='SegmentationClass')
    args = parser.parse_args(argv)
    try:
        results = evaluate(args.cam_dir, args.data_root, args.list, args.thresholds, args.gt_dir)
    except (WSSSDataError, ValueError) as e:
        sys.exit(f'error: {e}')
    print('threshold  mIoU (%)')
    for key, value in results.items():
        if key.startswith('cam/mIoU@'):
            print(f'{key[len("cam/mIoU@") :]:>9}  {value:.2f}')
    print(
        f'best: mIoU {results["cam/mIoU"]:.2f} at background threshold '
        f'{results["cam/best_threshold"]:.2f}'
    )
    return results


if __name__ == '__main__':
    main()
