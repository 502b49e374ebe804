"""Segment images with a trained model and write prediction overlays.

    python tools/demo/image_demo.py CONFIG CHECKPOINT IMG [IMG ...]
        [--out-dir DIR] [--opacity 0.5] [--device cpu] [--allow-partial-checkpoint]

Each IMG (a file or a directory of images) gives OUT_DIR/<name>.png: the image
with the predicted classes painted over it in the dataset's palette, written
atomically and never over an input image. CONFIG must be a segmentation config;
a checkpoint that does not match its model is refused (first keys listed)
unless --allow-partial-checkpoint. An image that cannot be read is reported by
name, the others are still painted, and the exit status is 1.
"""

import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import cv2  # noqa: E402
import mmcv  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.runner import CheckpointLoader, load_state_dict  # noqa: E402
from mmseg.apis import inference_model, init_model  # noqa: E402
from mmseg.visualization import SegLocalVisualizer  # noqa: E402

import mmwrn.enable_host_mends  # noqa: E402,F401  (registers mmwrn; every host mend on)
from mmwrn.checkpoint import check_checkpoint_fits  # noqa: E402
from mmwrn.cli.errors import CHECKPOINT_TOOL_ERRORS  # noqa: E402
from mmwrn.converters.common import dataset_meta  # noqa: E402
from mmwrn.utils.outputs import OutputError, check_output, write_bytes  # noqa: E402

IMG_EXTS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff')
MIN_SIZE = 2


def list_images(paths):
    images = []
    for path in paths:
        if osp.isdir(path):
            images += sorted(
                osp.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMG_EXTS)
            )
        elif osp.isfile(path):
            images.append(path)
        else:
            raise FileNotFoundError(f'no such image or directory: {path}')
    if not images:
        raise FileNotFoundError(f'no images ({", ".join(IMG_EXTS)}) in {paths}')
    return images


def load_model(config, checkpoint, device, allow_partial=False):
    """The segmentor of ``config`` with the weights of ``checkpoint``, checked
    to fit (:func:`mmwrn.checkpoint.check_checkpoint_fits`); its classes and
    palette from the checkpoint's meta, else from the config's test dataset."""
    cfg = Config.fromfile(config)
    if cfg.get('default_scope') != 'mmseg' or 'decode_head' not in cfg.model:
        raise ValueError(
            f'{config} is not a segmentation config (default_scope '
            f'{cfg.get("default_scope")!r}, model {cfg.model.get("type")!r} without a '
            'decode_head): image_demo.py paints segmentations; for a classifier use '
            'mmpretrain.apis.ImageClassificationInferencer'
        )
    state = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    model = init_model(cfg, None, device=device)
    check_checkpoint_fits(
        model, state, checkpoint, allow_partial, flag='--allow-partial-checkpoint'
    )
    load_state_dict(model, state.get('state_dict', state))
    meta = state.get('meta', {}) if isinstance(state, dict) else {}
    model.dataset_meta = meta.get('dataset_meta') or dataset_meta(cfg)
    return model


def paint(model, visualizer, path, out_file):
    """Segment the image ``path`` and write the overlay to ``out_file``."""
    try:
        image = mmcv.imread(path, channel_order='rgb')
    except Exception:  # noqa: BLE001 (OpenCV fails on an undecodable file)
        image = None
    if image is None:
        raise ValueError(f'{path}: cannot read the image (not an image, or truncated)')
    if min(image.shape[:2]) < MIN_SIZE:
        raise ValueError(
            f'{path}: the image is {image.shape[1]}x{image.shape[0]} pixels; '
            f'image_demo.py needs at least {MIN_SIZE}x{MIN_SIZE}'
        )
    result = inference_model(model, image[..., ::-1].copy())  # mmseg takes BGR arrays
    visualizer.add_datasample(osp.basename(path), image, result, draw_gt=False, show=False)
    ok, png = cv2.imencode('.png', visualizer.get_image()[..., ::-1])
    if not ok:
        raise ValueError(f'{path}: the overlay could not be encoded as PNG')
    write_bytes(png.tobytes(), out_file)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('images', nargs='+', help='image files or directories')
    parser.add_argument('--out-dir', default='overlays')
    parser.add_argument(
        '--opacity', type=float, default=0.5, help='opacity of the painted prediction, in (0, 1]'
    )
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='use a checkpoint that does not match the model (missing, unexpected or '
        'differently shaped weights keep their initialisation); default: refuse it',
    )
    args = parser.parse_args()
    if not 0 < args.opacity <= 1:
        parser.error(f'--opacity must be in (0, 1], got {args.opacity}')
    try:
        images = list_images(args.images)
        outputs = [
            osp.join(args.out_dir, osp.splitext(osp.basename(p))[0] + '.png') for p in images
        ]
        for out_file in outputs:
            check_output(out_file, images + [args.config, args.checkpoint])
        model = load_model(args.config, args.checkpoint, args.device, args.allow_partial_checkpoint)
    except (*CHECKPOINT_TOOL_ERRORS, ValueError) as e:
        sys.exit(f'error: {e}')
    visualizer = SegLocalVisualizer(alpha=args.opacity)
    visualizer.dataset_meta = model.dataset_meta
    failed = []
    for path, out_file in zip(images, outputs):
        try:
            paint(model, visualizer, path, out_file)
        except (ValueError, OutputError) as e:
            print(f'error: {e}', file=sys.stderr)
            failed.append(path)
            continue
        print(f'{path} -> {out_file}')
    if failed:
        sys.exit(f'error: {len(failed)} of {len(images)} images not painted: ' + ', '.join(failed))


if __name__ == '__main__':
    main()
