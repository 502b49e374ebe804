"""PASCAL VOC image-level labels as weakly-supervised segmentation uses them
(PSA ``voc12/make_cls_labels.py``: the classes present in an image's
segmentation mask), and PSA's training resize."""

import os.path as osp

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmpretrain.datasets import MultiLabelDataset
from mmpretrain.registry import DATASETS, TRANSFORMS
from PIL import Image

VOC_CLASSES = (
    'aeroplane',
    'bicycle',
    'bird',
    'boat',
    'bottle',
    'bus',
    'car',
    'cat',
    'chair',
    'cow',
    'diningtable',
    'dog',
    'horse',
    'motorbike',
    'person',
    'pottedplant',
    'sheep',
    'sofa',
    'train',
    'tvmonitor',
)
NUM_VOC_CLASSES = len(VOC_CLASSES)
# PSA's mask folders, the SBD aug masks first (train_aug = train + aug)
MASK_DIRS = ('SegmentationClassAug', 'SegmentationClass')


class WSSSDataError(ValueError):
    """An image list, label or mask that weakly-supervised tools cannot use."""


def read_image_list(path):
    """Image names of a VOC ``ImageSets`` file or a PSA list
    (``/JPEGImages/2007_000032.jpg ...``): the first token's stem."""
    if not osp.isfile(path):
        raise WSSSDataError(f'image list {path} does not exist')
    with open(path) as f:
        return [osp.splitext(osp.basename(line.split()[0]))[0] for line in f if line.strip()]


def find_mask(data_root, name, mask_dirs=MASK_DIRS):
    for d in mask_dirs:
        path = osp.join(data_root, d, name + '.png')
        if osp.isfile(path):
            return path
    return None


def labels_from_mask(path, num_classes=NUM_VOC_CLASSES):
    """0-based foreground classes present in a VOC mask (0 background, 255
    ignored, ``1..num_classes`` the classes)."""
    values = np.unique(np.asarray(Image.open(path)))
    values = values[(values != 0) & (values != 255)]
    bad = values[values > num_classes]
    if bad.size:
        raise WSSSDataError(
            f'{path}: label values {bad.tolist()} outside the {num_classes} '
            f'classes (1..{num_classes}; 0 background, 255 ignored)'
        )
    return (values - 1).astype(int).tolist()


def load_labels(
    data_root, names, label_file=None, num_classes=NUM_VOC_CLASSES, mask_dirs=MASK_DIRS
):
    """``{name: [0-based classes]}`` from PSA's ``cls_labels.npy`` (``{name:
    20-d 0/1 vector}``) or from the images' masks; every problem is raised
    at once, naming the images."""
    labels, missing = {}, []
    if label_file is not None:
        table = np.load(label_file, allow_pickle=True).item()
        for name in names:
            if name not in table:
                missing.append(name)
                continue
            vec = np.asarray(table[name]).reshape(-1)
            if vec.size != num_classes:
                raise WSSSDataError(
                    f'{label_file}: {name} has {vec.size} labels, expected {num_classes}'
                )
            labels[name] = np.nonzero(vec > 1e-5)[0].tolist()
        if missing:
            raise WSSSDataError(
                f'{label_file} has no labels for {len(missing)} images: {missing[:5]}'
            )
        return labels
    for name in names:
        path = find_mask(data_root, name, mask_dirs)
        if path is None:
            missing.append(name)
        else:
            labels[name] = labels_from_mask(path, num_classes)
    if missing:
        raise WSSSDataError(
            f'no mask in {"/".join(mask_dirs)} under {data_root} for '
            f'{len(missing)} images (image-level labels come from them): '
            f'{missing[:5]}'
        )
    return labels


def check_images(data_root, names, img_dir='JPEGImages', suffix='.jpg'):
    missing = [n for n in names if not osp.isfile(osp.join(data_root, img_dir, n + suffix))]
    if missing:
        raise WSSSDataError(
            f'{len(missing)} images of the list are missing from '
            f'{osp.join(data_root, img_dir)}: {missing[:5]}'
        )


@DATASETS.register_module()
class VOCClsDataset(MultiLabelDataset):
    """PASCAL VOC 2012 (+ SBD aug) images with image-level labels, as PSA
    trains its classifier: 20 classes, labels from ``label_file`` (PSA's
    ``cls_labels.npy``) or else from each image's mask in
    ``SegmentationClassAug`` / ``SegmentationClass``.

    Args:
        data_root (str): ``VOCdevkit/VOC2012``.
        ann_file (str): image list, relative to ``data_root`` (e.g.
            ``ImageSets/Segmentation/train_aug.txt``); several lists may be
            given as a sequence (train + aug).
        label_file (str, optional): PSA's ``cls_labels.npy``. Default: None.
    """

    METAINFO = dict(classes=VOC_CLASSES)

    def __init__(self, data_root, ann_file, label_file=None, **kwargs):
        self.lists = [ann_file] if isinstance(ann_file, str) else list(ann_file)
        self.label_file = label_file
        super().__init__(data_root=data_root, ann_file='', **kwargs)

    def load_data_list(self):
        names = []
        for lst in self.lists:
            names += read_image_list(osp.join(self.data_root, lst))
        check_images(self.data_root, names)
        labels = load_labels(self.data_root, names, self.label_file, NUM_VOC_CLASSES)
        return [
            dict(
                img_path=osp.join(self.data_root, 'JPEGImages', n + '.jpg'),
                gt_label=np.array(labels[n], dtype=np.int64),
            )
            for n in names
        ]


@TRANSFORMS.register_module()
class RandomResizeLong(BaseTransform):
    """Resize so that the longer side is uniform in ``[min_long, max_long]``
    (integers), keeping the aspect ratio (PSA ``imutils.RandomResizeLong``,
    bicubic as PIL's)."""

    def __init__(self, min_long, max_long, interpolation='bicubic', backend='pillow'):
        self.min_long, self.max_long = min_long, max_long
        self.interpolation, self.backend = interpolation, backend

    def transform(self, results):
        img = results['img']
        h, w = img.shape[:2]
        target = np.random.randint(self.min_long, self.max_long + 1)
        scale = target / max(h, w)
        size = (int(round(w * scale)), int(round(h * scale)))
        results['img'] = mmcv.imresize(
            img, size, interpolation=self.interpolation, backend=self.backend
        )
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self):
        return f'{type(self).__name__}(min_long={self.min_long}, max_long={self.max_long})'
