"""Write the CAMs of a CAM classifier for every image of a VOC image list.

    python tools/wsss/cam.py CONFIG CHECKPOINT --data-root data/VOCdevkit/VOC2012 \
        --list ImageSets/Segmentation/train.txt --out-dir work_dirs/cams \
        [--scales psa|seam|1.0,0.5] [--no-flip] [--labels cls_labels.npy] \
        [--overlay-dir DIR] [--limit N] [--device cpu]

One ``<name>.npz`` per image (``labels``, ``cams``: mmwrn.apis.cam); images
whose file exists are skipped, so an interrupted run continues where it
stopped. Image-level labels come from PSA's ``cls_labels.npy`` (``--labels``)
or the images' masks. Prints images/s and the time split into reading,
forward (CAM computation) and writing.
"""

import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import mmwrn.enable_host_mends  # noqa: E402,F401  (registers mmwrn; every host mend on)
from mmwrn.apis.cam import SCALE_SETS, CAMError, init_cam_model, run_cams  # noqa: E402
from mmwrn.datasets.voc_cls import (  # noqa: E402
    WSSSDataError,
    check_images,
    load_labels,
    read_image_list,
)


def parse_scales(text):
    if text in SCALE_SETS:
        return SCALE_SETS[text]
    try:
        return tuple(float(s) for s in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--scales: {sorted(SCALE_SETS)} or numbers like 1.0,0.5; got {text!r}'
        ) from None


def voc_palette(n=21):
    pal = []
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal.append((r, g, b))
    return pal


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', required=True, help='VOCdevkit/VOC2012')
    parser.add_argument('--list', required=True, help='image list, relative to --data-root')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument(
        '--scales',
        type=parse_scales,
        default=SCALE_SETS['psa'],
        help='psa (1.0,0.5,1.5,2.0, default), seam (0.5,1.0,1.5,2.0) or a list',
    )
    parser.add_argument('--no-flip', action='store_true')
    parser.add_argument('--labels', help="PSA's cls_labels.npy (default: from the masks)")
    parser.add_argument('--overlay-dir', help='also write colour overlays (PNG) here')
    parser.add_argument('--overlay-threshold', type=float, default=0.2)
    parser.add_argument('--limit', type=int, help='only the first N images (benchmarks)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    try:
        names = read_image_list(osp.join(args.data_root, args.list))[: args.limit]
        check_images(args.data_root, names)
        labels = load_labels(args.data_root, names, args.labels)
        model = init_cam_model(args.config, args.checkpoint, args.device)
        items = [(n, osp.join(args.data_root, 'JPEGImages', n + '.jpg'), labels[n]) for n in names]
        start = time.perf_counter()
        stats = run_cams(
            model,
            items,
            args.out_dir,
            args.scales,
            not args.no_flip,
            args.overlay_dir,
            voc_palette(),
            args.overlay_threshold,
        )
    except (CAMError, WSSSDataError) as e:
        sys.exit(f'error: {e}')
    wall = time.perf_counter() - start
    done = stats['done']
    print(
        f'\n{done} images written, {stats["skipped"]} already done (skipped), '
        f'{stats["total"]} in the list; scales {tuple(args.scales)}, '
        f'flip {not args.no_flip}'
    )
    if done:
        io = stats['read_s'] + stats['write_s']
        print(
            f'{done / wall:.3f} images/s ({wall / done:.3f} s/image: forward '
            f'{stats["forward_s"] / done:.3f} s, I/O {io / done:.3f} s [read '
            f'{stats["read_s"] / done:.3f}, write {stats["write_s"] / done:.3f}])'
        )
    return stats


if __name__ == '__main__':
    main()
