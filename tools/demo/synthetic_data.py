"""Small deterministic datasets in the real folder layouts of PASCAL VOC
(+ SBD aug), Cityscapes, ADE20K, PASCAL Context, ImageNet and CIFAR, for the
demo job and the tests (not part of the mmwrn package). Scenes are textured
shapes of several classes on a textured background, written as real JPEG/PNG
files.

    python tools/demo/synthetic_data.py voc data/synthvoc [--size 96]
"""

import argparse
import os
import os.path as osp

import cv2
import numpy as np
from PIL import Image

# colour and texture of each foreground class (class 1 = SHAPES[0], ...)
_TEXTURES = ('stripes', 'checker', 'dots', 'plain')


def _palette(n):
    rng = np.random.RandomState(1234)
    pal = rng.randint(0, 255, size=(256, 3)).astype(np.uint8)
    pal[0] = (0, 0, 0)
    return pal[: max(n, 256)]


def render_scene(rng, height, width, num_classes, max_shapes=4):
    """Return an RGB uint8 image and a label map (0 = background,
    1..num_classes-1 = shape classes; each class has its own colour, shape and
    texture)."""
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.empty((height, width, 3), np.float32)
    img[:] = rng.uniform(90, 140, size=3)
    img += rng.normal(0, 12, size=(height, width, 1))  # background texture
    label = np.zeros((height, width), np.uint8)
    for _ in range(rng.randint(1, max_shapes + 1)):
        cls = rng.randint(1, num_classes)
        cy, cx = rng.uniform(0.15, 0.85) * height, rng.uniform(0.15, 0.85) * width
        r = rng.uniform(0.1, 0.25) * min(height, width)
        kind = cls % 3
        if kind == 0:  # disc
            mask = (yy - cy) ** 2 + (xx - cx) ** 2 <= r**2
        elif kind == 1:  # square
            mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
        else:  # triangle
            mask = (yy >= cy - r) & (yy <= cy + r) & (abs(xx - cx) <= (yy - cy + r) / 2)
        colour = np.array(_palette(num_classes)[cls], np.float32) * 0.6 + 60
        texture = _TEXTURES[cls % len(_TEXTURES)]
        if texture == 'stripes':
            pattern = ((xx + yy) // 4 % 2)[..., None] * 50.0
        elif texture == 'checker':
            pattern = ((xx // 5 + yy // 5) % 2)[..., None] * 50.0
        elif texture == 'dots':
            pattern = ((xx % 6 < 2) & (yy % 6 < 2))[..., None] * 60.0
        else:
            pattern = 0.0
        img[mask] = (colour + pattern + rng.normal(0, 6, size=(height, width, 3)))[mask]
        label[mask] = cls
    return np.clip(img, 0, 255).astype(np.uint8), label


def _write_jpg(path, rgb):
    os.makedirs(osp.dirname(path), exist_ok=True)
    cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])


def _write_png(path, arr, palette=None):
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = Image.fromarray(arr)
    if palette is not None:
        img = img.convert('P')
        img.putpalette(palette.flatten().tolist())
    img.save(path)


def _scenes(seed, count, size, num_classes):
    rng = np.random.RandomState(seed)
    for i in range(count):
        h = size + rng.randint(-size // 8, size // 8 + 1)
        w = size + rng.randint(-size // 8, size // 8 + 1)
        yield i, *render_scene(rng, h, w, num_classes)


def make_voc(root, num_train=40, num_val=10, size=96, num_classes=21, seed=0):
    """VOCdevkit/VOC2012 with SegmentationClass (train + val), SegmentationClassAug
    (the SBD aug set) and their ImageSets, as mmseg's pascal_voc12_aug config expects.
    Returns the data root (``<root>/VOCdevkit/VOC2012``)."""
    data_root = osp.join(root, 'VOCdevkit', 'VOC2012')
    pal = _palette(num_classes)
    names = {'train': [], 'val': [], 'aug': []}
    splits = [('train', num_train), ('val', num_val), ('aug', num_train)]
    for s, (split, count) in enumerate(splits):
        for i, img, label in _scenes(seed * 10 + s, count, size, num_classes):
            name = f'2007_{split}{i:05d}'
            # VOC marks object boundaries with 255 (ignored)
            edges = cv2.morphologyEx(label, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)) > 0
            label = np.where(edges, 255, label).astype(np.uint8)
            _write_jpg(osp.join(data_root, 'JPEGImages', name + '.jpg'), img)
            seg_dir = 'SegmentationClassAug' if split == 'aug' else 'SegmentationClass'
            _write_png(
                osp.join(data_root, seg_dir, name + '.png'), label, None if split == 'aug' else pal
            )
            names[split].append(name)
    sets = osp.join(data_root, 'ImageSets', 'Segmentation')
    os.makedirs(sets, exist_ok=True)
    for split, lst in names.items():
        with open(osp.join(sets, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lst) + '\n')
    return data_root


def make_cityscapes(root, num_train=6, num_val=2, size=64, seed=0):
    """cityscapes/leftImg8bit and gtFine with ``*_gtFine_labelTrainIds.png``
    (19 classes, 255 ignored)."""
    data_root = osp.join(root, 'cityscapes')
    for s, (split, count) in enumerate((('train', num_train), ('val', num_val))):
        for i, img, label in _scenes(seed * 10 + s, count, size, 20):
            label = np.where(label == 0, 255, label - 1).astype(np.uint8)
            stem = f'{split}city_000000_{i:06d}'
            _write_png(
                osp.join(
                    data_root, 'leftImg8bit', split, f'{split}city', stem + '_leftImg8bit.png'
                ),
                img,
            )
            _write_png(
                osp.join(
                    data_root, 'gtFine', split, f'{split}city', stem + '_gtFine_labelTrainIds.png'
                ),
                label,
            )
    return data_root


def make_ade20k(root, num_train=6, num_val=2, size=64, seed=0):
    """ade/ADEChallengeData2016 with images/ and annotations/ (0 = other,
    ignored through reduce_zero_label; classes 1..150)."""
    data_root = osp.join(root, 'ade', 'ADEChallengeData2016')
    for s, (split, count) in enumerate((('training', num_train), ('validation', num_val))):
        for i, img, label in _scenes(seed * 10 + s, count, size, 151):
            name = f'ADE_{split}_{i:08d}'
            _write_jpg(osp.join(data_root, 'images', split, name + '.jpg'), img)
            _write_png(osp.join(data_root, 'annotations', split, name + '.png'), label)
    return data_root


def make_pascal_context(root, num_train=6, num_val=2, size=64, seed=0):
    """VOCdevkit/VOC2010 with SegmentationClassContext (0 = background, 1..59)
    and ImageSets/SegmentationContext, for both the 60- and 59-class datasets."""
    data_root = osp.join(root, 'VOCdevkit', 'VOC2010')
    sets = osp.join(data_root, 'ImageSets', 'SegmentationContext')
    os.makedirs(sets, exist_ok=True)
    for s, (split, count) in enumerate((('train', num_train), ('val', num_val))):
        names = []
        for i, img, label in _scenes(seed * 10 + s, count, size, 60):
            name = f'2008_{split}{i:05d}'
            _write_jpg(osp.join(data_root, 'JPEGImages', name + '.jpg'), img)
            _write_png(osp.join(data_root, 'SegmentationClassContext', name + '.png'), label)
            names.append(name)
        with open(osp.join(sets, f'{split}.txt'), 'w') as f:
            f.write('\n'.join(names) + '\n')
    return data_root


def _class_image(rng, cls, size):
    """An image whose class is visible: class-specific colour and texture."""
    img, _ = render_scene(rng, size, size, 2, max_shapes=1)
    colour = _palette(64)[cls + 1].astype(np.float32)
    yy, xx = np.mgrid[0:size, 0:size]
    pattern = ((xx * (cls % 3 + 1) + yy * (cls % 2)) // 3 % 2)[..., None] * 60.0
    out = 0.5 * img + 0.5 * (colour + pattern)
    return np.clip(out + rng.normal(0, 8, out.shape), 0, 255).astype(np.uint8)


def make_imagenet(root, num_classes=4, num_train=4, num_val=2, size=64, seed=0):
    """imagenet/ in mmpretrain's ImageNet layout: train/<wnid>/*.JPEG,
    val/*.JPEG and meta/{train,val}.txt (``path label`` lines)."""
    data_root = osp.join(root, 'imagenet')
    rng = np.random.RandomState(seed)
    os.makedirs(osp.join(data_root, 'meta'), exist_ok=True)
    lines = {'train': [], 'val': []}
    for cls in range(num_classes):
        wnid = f'n{cls:08d}'
        for i in range(num_train):
            rel = f'{wnid}/{wnid}_{i}.JPEG'
            _write_jpg(osp.join(data_root, 'train', rel), _class_image(rng, cls, size))
            lines['train'].append(f'{rel} {cls}')
        for i in range(num_val):
            rel = f'ILSVRC2012_val_{cls * num_val + i:08d}.JPEG'
            _write_jpg(osp.join(data_root, 'val', rel), _class_image(rng, cls, size))
            lines['val'].append(f'{rel} {cls}')
    for split, lst in lines.items():
        with open(osp.join(data_root, 'meta', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lst) + '\n')
    return data_root


def make_cifar(root, num_classes=10, num_train=20, num_test=10, seed=0):
    """cifar-10-batches-py (num_classes=10) or cifar-100-python (100) in the real
    pickled batch format (uint8 N x 3072 rows, channel-major 32x32)."""
    import pickle

    rng = np.random.RandomState(seed)
    ten = num_classes == 10
    folder = osp.join(root, 'cifar-10-batches-py' if ten else 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    label_key = 'labels' if ten else 'fine_labels'

    def batch(n):
        labels = [i % num_classes for i in range(n)]
        data = np.stack(
            [_class_image(rng, c % 8, 32).transpose(2, 0, 1).reshape(-1) for c in labels]
        )
        return {'data': data, label_key: labels}

    train_files = [f'data_batch_{i}' for i in range(1, 6)] if ten else ['train']
    for name in train_files:
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump(batch(num_train // len(train_files)), f)
    with open(osp.join(folder, 'test_batch' if ten else 'test'), 'wb') as f:
        pickle.dump(batch(num_test), f)
    names = [f'class{i}' for i in range(num_classes)]
    with open(osp.join(folder, 'batches.meta' if ten else 'meta'), 'wb') as f:
        pickle.dump({'label_names' if ten else 'fine_label_names': names}, f)
    return root


def main():
    makers = dict(
        voc=make_voc,
        cityscapes=make_cityscapes,
        ade20k=make_ade20k,
        pascal_context=make_pascal_context,
        imagenet=make_imagenet,
        cifar=make_cifar,
    )
    parser = argparse.ArgumentParser(description='Write a small synthetic dataset.')
    parser.add_argument('dataset', choices=sorted(makers))
    parser.add_argument('root', help='folder to write (the data root of the configs)')
    parser.add_argument('--size', type=int, help='image side (not for cifar: 32)')
    args = parser.parse_args()
    kwargs = {} if args.size is None else dict(size=args.size)
    if args.dataset == 'cifar' and kwargs:
        parser.error('--size: CIFAR images are 32x32')
    print(makers[args.dataset](args.root, **kwargs))


if __name__ == '__main__':
    main()
