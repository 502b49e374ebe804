"""VOCClsDataset: image-level labels from VOC masks (PSA's make_cls_labels) or
PSA's cls_labels.npy, with clear errors; RandomResizeLong."""

import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmwrn.datasets import RandomResizeLong, VOCClsDataset, WSSSDataError
from tests.helpers.demo_data import synthetic_data


@pytest.fixture(scope='module')
def voc(tmp_path_factory):
    return synthetic_data.make_voc(
        str(tmp_path_factory.mktemp('voc')), num_train=4, num_val=2, size=40
    )


def test_labels_from_masks(voc):
    ds = VOCClsDataset(
        data_root=voc,
        ann_file=['ImageSets/Segmentation/train.txt', 'ImageSets/Segmentation/aug.txt'],
        pipeline=[],
        lazy_init=False,
    )
    assert len(ds) == 8
    for item in ds:
        seg = 'SegmentationClassAug' if '_aug' in item['img_path'] else 'SegmentationClass'
        mask = np.asarray(
            Image.open(osp.join(voc, seg, osp.basename(item['img_path']).replace('.jpg', '.png')))
        )
        want = sorted(set(np.unique(mask).tolist()) - {0, 255})
        assert (item['gt_label'] + 1).tolist() == want and want


def test_label_file_and_errors(voc, tmp_path):
    names = open(osp.join(voc, 'ImageSets/Segmentation/val.txt')).read().split()
    table = {n: np.eye(20, dtype=np.float32)[i] for i, n in enumerate(names)}
    np.save(tmp_path / 'cls_labels.npy', table)
    ds = VOCClsDataset(
        data_root=voc,
        ann_file='ImageSets/Segmentation/val.txt',
        label_file=str(tmp_path / 'cls_labels.npy'),
        pipeline=[],
    )
    assert [d['gt_label'].tolist() for d in ds] == [[0], [1]]
    lst = tmp_path / 'list.txt'
    lst.write_text('2007_val00000\n2007_missing\n')
    with pytest.raises(WSSSDataError, match=r'1 images of the list are missing .*2007_missing'):
        VOCClsDataset(data_root=voc, ann_file=str(lst), pipeline=[])
    mask = osp.join(voc, 'SegmentationClass', '2007_val00001.png')
    Image.fromarray(np.full((4, 4), 23, np.uint8)).save(mask)
    with pytest.raises(WSSSDataError, match=r'2007_val00001.png: label values \[23\] outside'):
        VOCClsDataset(data_root=voc, ann_file='ImageSets/Segmentation/val.txt', pipeline=[])


def test_random_resize_long():
    np.random.seed(0)
    t = RandomResizeLong(448, 768)
    for _ in range(5):
        out = t(dict(img=np.zeros((300, 500, 3), np.uint8)))['img']
        assert 448 <= out.shape[1] <= 768 and abs(out.shape[0] / out.shape[1] - 0.6) < 0.01
