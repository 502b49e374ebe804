"""A re-implementation (not a copy) of what PSA does to get CAMs, for the
exactness tests, written from jiwoon-ahn/psa: ``network/resnet38_cls.py``
``forward_cam`` (the ``resnet38d`` features of tests.helpers.source_networks.psa_forward,
``F.conv2d`` with ``fc8.weight``, ReLU), ``network/resnet38d.py`` ``Normalize``
(RGB / 255, ImageNet mean / std, float32), ``voc12/data.py``
``VOC12ClsDatasetMSF`` (each scale: PIL bicubic resize to ``round(size * s)``,
then the image and its mirror, interleaved) and ``infer_cls.py`` (each CAM
bilinearly upsampled to the image, ``align_corners=False``, multiplied by the
20-class label vector, mirrored ones flipped back, summed in numpy, divided
by the per-class maximum + 1e-5, the label classes kept). Only what these
steps need; PSA's own code is not vendored."""

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tests.helpers import source_networks as R

PSA_MEAN = (0.485, 0.456, 0.406)
PSA_STD = (0.229, 0.224, 0.225)


def psa_normalize(img):
    arr = np.asarray(img)
    out = np.empty_like(arr, np.float32)
    for c in range(3):
        out[..., c] = (arr[..., c] / 255.0 - PSA_MEAN[c]) / PSA_STD[c]
    return out


def psa_forward_cam(sd, x):
    return F.relu(F.conv2d(R.psa_forward(sd, x)[6], sd['fc8.weight']))


@torch.no_grad()
def psa_infer_cams(sd, img, label, scales=(1.0, 0.5, 1.5, 2.0)):
    """``{class: normalised CAM}`` as PSA's ``infer_cls.py`` saves it
    (``--out_cam``), for the PIL RGB image ``img`` and the 0/1 vector
    ``label``."""
    ms = []
    for s in scales:
        target = (round(img.size[0] * s), round(img.size[1] * s))
        ms.append(psa_normalize(img.resize(target, resample=Image.BICUBIC)).transpose(2, 0, 1))
    msf = []
    for arr in ms:
        msf += [arr, np.flip(arr, -1).copy()]
    size = (img.size[1], img.size[0])
    cam_list = []
    for i, arr in enumerate(msf):
        cam = psa_forward_cam(sd, torch.from_numpy(arr)[None])
        cam = F.interpolate(cam, size, mode='bilinear', align_corners=False)[0]
        cam = cam.numpy() * np.asarray(label, np.float32).reshape(-1, 1, 1)
        if i % 2 == 1:
            cam = np.flip(cam, axis=-1)
        cam_list.append(cam)
    sum_cam = np.sum(cam_list, axis=0)
    norm_cam = sum_cam / (np.max(sum_cam, (1, 2), keepdims=True) + 1e-5)
    return {i: norm_cam[i] for i in range(len(label)) if label[i] > 1e-5}


def psa_cam_pred(cam_dict, threshold=0.2):
    """``infer_cls.py --out_cam_pred``: background ``threshold`` stacked
    first, argmax; PSA indexes ``norm_cam`` of all 20 classes, zero for the
    others, so the prediction is a class index 0..20."""
    any_cam = next(iter(cam_dict.values()))
    norm_cam = np.zeros((20,) + any_cam.shape, np.float32)
    for k, v in cam_dict.items():
        norm_cam[k] = v
    bg = [np.ones_like(norm_cam[0]) * threshold]
    return np.argmax(np.concatenate((bg, norm_cam)), 0)
