"""mIoU of class activation maps (CAMs) + a background threshold against
segmentation masks, over a sweep of thresholds: the number weakly-supervised
segmentation papers report (PSA ``infer_cls.py`` with ``--out_cam_pred``,
threshold 0.2; SEAM's evaluation sweeps 0.00-0.59)."""

from typing import Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.registry import METRICS

# thresholds 0.00, 0.01, ..., 0.60
DEFAULT_THRESHOLDS = tuple(round(t * 0.01, 2) for t in range(61))


def cam_argmax(cams, labels, shape=None):
    """``(best foreground score, its class 1..C)`` per pixel of ``cams``
    (``(K, H, W)`` for the 0-based classes ``labels``); an image without
    labels has score -inf (all background)."""
    cams, labels = np.asarray(cams), np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return np.full(shape or cams.shape[1:], -np.inf, np.float32), np.zeros(
            shape or cams.shape[1:], np.int64
        )
    if cams.shape[0] != len(labels):
        raise ValueError(f'{cams.shape[0]} CAMs for {len(labels)} labels')
    return cams.max(0), labels[cams.argmax(0)] + 1


def cams_to_label(cams, labels, threshold):
    """PSA's CAM prediction: background score ``threshold`` stacked first,
    argmax (ties go to the background): ``(H, W)`` with 0 background."""
    score, cls = cam_argmax(cams, labels)
    return np.where(score > threshold, cls, 0)


def confusions(cams, labels, gt, thresholds=DEFAULT_THRESHOLDS, num_classes=21, ignore_index=255):
    """``(T, num_classes, num_classes)`` confusion matrices (rows: truth) of
    one image's CAM predictions at each background threshold."""
    gt = np.asarray(gt)
    score, cls = cam_argmax(cams, labels, gt.shape)
    if score.shape != gt.shape:
        raise ValueError(f'CAMs of size {score.shape} for a mask of size {gt.shape}')
    valid = gt != ignore_index
    if (gt[valid] >= num_classes).any():
        raise ValueError(
            f'mask values {np.unique(gt[valid][gt[valid] >= num_classes])} '
            f'outside the {num_classes} classes'
        )
    truth, score, cls = gt[valid].astype(np.int64) * num_classes, score[valid], cls[valid]
    out = np.empty((len(thresholds), num_classes, num_classes), np.int64)
    for i, t in enumerate(thresholds):
        pred = np.where(score > t, cls, 0)
        out[i] = np.bincount(truth + pred, minlength=num_classes**2).reshape(
            num_classes, num_classes
        )
    return out


def miou(confusion):
    """``(per-class IoU, mean IoU)`` of one confusion matrix; classes that
    neither occur nor are predicted are left out of the mean (NaN IoU)."""
    tp = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - tp
    with np.errstate(invalid='ignore', divide='ignore'):
        iou = tp / union
    return iou, float(np.nanmean(iou))


@METRICS.register_module()
class CAMMIoUMetric(BaseMetric):
    """mIoU of CAMs + background threshold, at every threshold of a sweep.

    ``process`` takes data samples (dicts) with ``cams`` (``(K, H, W)``, the
    normalised CAMs of the image's labels), ``cam_labels`` (their 0-based
    classes) and ``gt_sem_seg`` (``(H, W)`` mask: 0 background, 255
    ignored). ``compute_metrics`` returns ``mIoU`` (the best, in %),
    ``best_threshold`` and ``mIoU@<t>`` for every threshold.

    Args:
        thresholds (Sequence[float]): background thresholds. Default:
            0.00, 0.01, ..., 0.60.
        num_classes (int): classes with background (VOC: 21). Default: 21.
        ignore_index (int): mask value left out. Default: 255.
    """

    default_prefix = 'cam'

    def __init__(
        self,
        thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
        num_classes: int = 21,
        ignore_index: int = 255,
        collect_device: str = 'cpu',
        prefix: Optional[str] = None,
    ):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not thresholds:
            raise ValueError('no thresholds to evaluate')
        self.thresholds = tuple(float(t) for t in thresholds)
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            gt = sample['gt_sem_seg']
            gt = gt.numpy() if hasattr(gt, 'numpy') else np.asarray(gt)
            self.results.append(
                confusions(
                    sample['cams'],
                    sample['cam_labels'],
                    gt.reshape(gt.shape[-2:]),
                    self.thresholds,
                    self.num_classes,
                    self.ignore_index,
                )
            )

    def compute_metrics(self, results: list) -> dict:
        total = np.sum(results, axis=0)
        scores = [miou(c)[1] * 100 for c in total]
        best = int(np.nanargmax(scores))
        metrics = {f'mIoU@{t:.2f}': s for t, s in zip(self.thresholds, scores)}
        metrics.update(mIoU=scores[best], best_threshold=self.thresholds[best])
        return metrics
