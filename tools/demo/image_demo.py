"""Segment images with a trained model and write prediction overlays.

    python tools/demo/image_demo.py CONFIG CHECKPOINT IMG [IMG ...]
        [--out-dir DIR] [--opacity 0.5] [--device cpu]

Each IMG (a file or a directory of images) gives OUT_DIR/<name>.png: the image
with the predicted classes painted over it in the dataset's palette.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import mmcv  # noqa: E402
from mmseg.apis import inference_model, init_model  # noqa: E402
from mmseg.visualization import SegLocalVisualizer  # noqa: E402

import mmwrn  # noqa: E402,F401

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')


def list_images(paths):
    images = []
    for path in paths:
        if osp.isdir(path):
            images += sorted(osp.join(path, f) for f in os.listdir(path)
                             if f.lower().endswith(IMG_EXTS))
        elif osp.isfile(path):
            images.append(path)
        else:
            raise FileNotFoundError(f'no such image or directory: {path}')
    if not images:
        raise FileNotFoundError(f'no images ({", ".join(IMG_EXTS)}) in {paths}')
    return images


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+', help='image files or directories')
    parser.add_argument('--out-dir', default='overlays')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='opacity of the painted prediction, in (0, 1]')
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    args = parser.parse_args()
    if not 0 < args.opacity <= 1:
        parser.error(f'--opacity must be in (0, 1], got {args.opacity}')

    images = list_images(args.images)
    model = init_model(args.config, args.checkpoint, device=args.device)
    visualizer = SegLocalVisualizer(alpha=args.opacity)
    visualizer.dataset_meta = model.dataset_meta
    os.makedirs(args.out_dir, exist_ok=True)
    for path in images:
        result = inference_model(model, path)
        out_file = osp.join(args.out_dir, osp.splitext(osp.basename(path))[0] + '.png')
        visualizer.add_datasample(
            osp.basename(path), mmcv.imread(path, channel_order='rgb'), result,
            draw_gt=False, show=False, out_file=out_file)
        print(f'{path} -> {out_file}')


if __name__ == '__main__':
    main()
