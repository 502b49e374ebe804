"""Datasets and transforms of the weakly-supervised segmentation workflow,
registered in mmpretrain."""

from .voc_cls import (
    VOC_CLASSES,
    RandomResizeLong,
    VOCClsDataset,
    WSSSDataError,
    load_labels,
    read_image_list,
)

__all__ = [
    'VOCClsDataset',
    'RandomResizeLong',
    'VOC_CLASSES',
    'WSSSDataError',
    'load_labels',
    'read_image_list',
]
