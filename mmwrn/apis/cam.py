"""Class activation maps (CAMs) of a ``CAMClsHead`` classifier, as PSA
computes them (jiwoon-ahn/psa ``infer_cls.py``), and their files.

Per image: for each scale, the image resized (PIL bicubic, PSA's
``VOC12ClsDatasetMSF``), normalised, and with ``flip`` also mirrored; the
classifier's CAMs (``fc8`` on the feature map, ReLU) upsampled to the image
size (bilinear, ``align_corners=False``), the mirrored ones flipped back; all
summed; each class map of the image's labels divided by its maximum + 1e-5.

File format (one per image, ``<out_dir>/<name>.npz``, ``numpy.load``):

* ``labels``: int64 ``(K, )``, the image's 0-based foreground classes;
* ``cams``: float32 ``(K, H, W)``, their normalised CAMs (in ``[0, 1)``) at
  the image's size.

A file is written to a temporary name in the same folder and renamed, so it
is either complete or absent; a run skips the images whose file exists.
"""

import functools
import glob
import os
import os.path as osp
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# PSA's infer_cls.py and SEAM's infer_SEAM.py
SCALE_SETS = {'psa': (1.0, 0.5, 1.5, 2.0), 'seam': (0.5, 1.0, 1.5, 2.0)}
TMP_TAG = '.tmp-'


class CAMError(ValueError):
    """A model, checkpoint or input the CAM tools cannot use."""


def check_cam_model(model):
    """Raise unless ``model`` is a classifier whose head computes CAMs."""
    head = getattr(model, 'head', None)
    if head is None or not callable(getattr(head, 'cams', None)):
        raise CAMError(
            f"the model's head ({type(head).__name__}) computes no CAMs: use a "
            'config with CAMClsHead (configs/wider_resnet_wsss/)'
        )
    if getattr(model, 'neck', None) is not None:
        raise CAMError(
            'a CAM classifier has no neck (CAMClsHead pools itself): found '
            f'{type(model.neck).__name__}'
        )


def init_cam_model(config, checkpoint, device='cpu'):
    """Build the classifier of ``config`` (path or Config), load
    ``checkpoint`` (which must hold the CAM classifier ``head.fc8.weight``)
    and return it in eval mode."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import MODELS

    import mmwrn  # noqa: F401

    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if cfg.model.get('head', {}).get('type') != 'CAMClsHead':
        raise CAMError(
            f'{getattr(cfg, "filename", config)}: its head '
            f'{cfg.model.get("head", {}).get("type")} computes no CAMs; use a config '
            'with CAMClsHead (configs/wider_resnet_wsss/)'
        )
    model_cfg = cfg.model.copy()
    model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    check_cam_model(model)
    if checkpoint is not None:
        if not osp.isfile(checkpoint):
            raise CAMError(f'checkpoint {checkpoint} does not exist')
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)
        state = state.get('state_dict', state)
        if 'head.fc8.weight' not in state:
            raise CAMError(
                f'{checkpoint} has no CAM classifier (head.fc8.weight): a backbone '
                'or another classifier cannot give CAMs; train the CAM config or '
                "convert PSA's res38_cls.pth"
            )
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True, logger='silent')
    return model.to(device).eval()


def _normaliser(model):
    pre = model.data_preprocessor
    mean = getattr(pre, 'mean', None)
    std = getattr(pre, 'std', None)
    if mean is None or std is None:
        raise CAMError("the model's data preprocessor has no mean / std")
    return mean.reshape(1, 3, 1, 1).float(), std.reshape(1, 3, 1, 1).float()


@torch.no_grad()
def image_cams(model, img, labels, scales=SCALE_SETS['psa'], flip=True):
    """Normalised CAMs ``(K, H, W)`` float32 of the RGB uint8 image ``img``
    (``(H, W, 3)``) for its 0-based ``labels`` (see the module docstring)."""
    labels = list(labels)
    height, width = img.shape[:2]
    if not labels:
        return np.zeros((0, height, width), np.float32)
    device = next(model.parameters()).device
    mean, std = (t.to(device) for t in _normaliser(model))
    pil = Image.fromarray(img)
    total = torch.zeros(len(labels), height, width, device=device)
    for s in scales:
        size = (round(width * s), round(height * s))
        x = torch.from_numpy(np.asarray(pil.resize(size, resample=Image.BICUBIC)).copy())
        x = (x.to(device).permute(2, 0, 1)[None].float() - mean) / std
        if flip:
            x = torch.cat([x, x.flip(-1)])
        cams = model.head.cams(model.extract_feat(x))[:, labels]
        cams = F.interpolate(cams, (height, width), mode='bilinear', align_corners=False)
        if flip:
            cams = torch.stack([cams[0], cams[1].flip(-1)])
        total += cams.sum(0)
    total /= total.flatten(1).max(1).values[:, None, None] + 1e-5
    return total.cpu().numpy().astype(np.float32)


def save_atomic(path, write):
    """``write(file object)`` into a temporary file beside ``path``, then
    rename it: ``path`` is complete or absent."""
    tmp = f'{path}{TMP_TAG}{os.getpid()}'
    try:
        with open(tmp, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def save_cams(path, labels, cams):
    save_atomic(
        path,
        lambda f: np.savez(
            f, labels=np.asarray(labels, np.int64), cams=np.asarray(cams, np.float32)
        ),
    )


def load_cams(path):
    """``(labels, cams)`` of a CAM file."""
    with np.load(path) as data:
        return data['labels'], data['cams']


def overlay(img, labels, cams, palette, threshold=0.2, alpha=0.5):
    """The image with the CAM prediction (background ``threshold``)
    coloured in, for a quick look."""
    from mmwrn.evaluation import cams_to_label

    pred = cams_to_label(cams, labels, threshold)
    colour = np.asarray(palette, np.float32)[pred]
    out = np.where(pred[..., None] > 0, (1 - alpha) * img + alpha * colour, img)
    return out.astype(np.uint8)


def read_rgb(path):
    return np.asarray(Image.open(path).convert('RGB'))


def run_cams(
    model,
    items,
    out_dir,
    scales=SCALE_SETS['psa'],
    flip=True,
    overlay_dir=None,
    palette=None,
    threshold=0.2,
    progress=True,
):
    """CAM files for ``items`` (``(name, image path, labels)``) in
    ``out_dir``, skipping names whose file exists; leftover temporary files
    of an interrupted run are removed. Returns counts and the time split
    (``read_s``, ``forward_s``, ``write_s``)."""
    os.makedirs(out_dir, exist_ok=True)
    for d in filter(None, (out_dir, overlay_dir)):
        os.makedirs(d, exist_ok=True)
        for tmp in glob.glob(osp.join(d, f'*{TMP_TAG}*')):
            os.remove(tmp)
    todo = [it for it in items if not osp.isfile(osp.join(out_dir, it[0] + '.npz'))]
    stats = dict(
        total=len(items),
        skipped=len(items) - len(todo),
        done=0,
        read_s=0.0,
        forward_s=0.0,
        write_s=0.0,
    )
    bar = None
    if progress and todo:
        from mmengine.utils import ProgressBar

        bar = ProgressBar(len(todo))
    for name, path, labels in todo:
        t0 = time.perf_counter()
        img = read_rgb(path)
        t1 = time.perf_counter()
        cams = image_cams(model, img, labels, scales, flip)
        t2 = time.perf_counter()
        save_cams(osp.join(out_dir, name + '.npz'), labels, cams)
        if overlay_dir:
            vis = Image.fromarray(overlay(img, labels, cams, palette, threshold))
            save_atomic(
                osp.join(overlay_dir, name + '.png'), functools.partial(vis.save, format='PNG')
            )
        t3 = time.perf_counter()
        stats['read_s'] += t1 - t0
        stats['forward_s'] += t2 - t1
        stats['write_s'] += t3 - t2
        stats['done'] += 1
        if bar:
            bar.update()
    return stats
