"""CAMMIoUMetric: PSA's CAM prediction (background threshold stacked first,
argmax) scored as the WSSS papers do, at every threshold of a sweep."""

import numpy as np
import pytest
from mmengine.registry import METRICS

import mmwrn  # noqa: F401
from mmwrn.evaluation import CAMMIoUMetric, cams_to_label, confusions


def brute_miou(preds, gts, n=21):
    inter, union = np.zeros(n), np.zeros(n)
    for p, g in zip(preds, gts):
        v = g != 255
        for c in range(n):
            inter[c] += ((p == c) & (g == c) & v).sum()
            union[c] += (((p == c) | (g == c)) & v).sum()
    with np.errstate(invalid='ignore'):
        return np.nanmean(inter / union) * 100


def psa_pred(cams, labels, t):
    full = np.zeros((20,) + cams.shape[1:], np.float32)
    full[labels] = cams
    return np.argmax(np.concatenate([np.full((1,) + cams.shape[1:], t, np.float32), full]), 0)


def test_sweep_matches_brute_force_and_psa_argmax():
    rng = np.random.RandomState(0)
    samples = []
    for i in range(4):
        labels = sorted(rng.choice(20, size=1 + i % 3, replace=False).tolist())
        cams = rng.rand(len(labels), 9, 11).astype(np.float32)
        cams[0, 0, :3] = 0.2  # ties with the background go to the background
        gt = rng.choice([0] + [c + 1 for c in labels] + [255], size=(9, 11))
        samples.append(dict(cams=cams, cam_labels=labels, gt_sem_seg=gt))
    thresholds = (0.1, 0.2, 0.5)
    metric = METRICS.build(dict(type='CAMMIoUMetric', thresholds=thresholds))
    metric.process(None, samples)
    res = metric.evaluate(len(samples))
    for t in thresholds:
        preds = [psa_pred(s['cams'], s['cam_labels'], t) for s in samples]
        for s, p in zip(samples, preds):
            assert np.array_equal(cams_to_label(s['cams'], s['cam_labels'], t), p)
        assert res[f'cam/mIoU@{t:.2f}'] == pytest.approx(
            brute_miou(preds, [s['gt_sem_seg'] for s in samples])
        )
    best = max(thresholds, key=lambda t: res[f'cam/mIoU@{t:.2f}'])
    assert res['cam/best_threshold'] == best
    assert res['cam/mIoU'] == res[f'cam/mIoU@{best:.2f}']


def test_errors():
    with pytest.raises(ValueError, match='2 CAMs for 1 labels'):
        confusions(np.zeros((2, 3, 3)), [1], np.zeros((3, 3)))
    with pytest.raises(ValueError, match='outside the 21 classes'):
        confusions(np.zeros((1, 3, 3)), [1], np.full((3, 3), 30))
    with pytest.raises(ValueError, match='no thresholds'):
        CAMMIoUMetric(thresholds=())
