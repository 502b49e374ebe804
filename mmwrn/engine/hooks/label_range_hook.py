"""Stop training, validation and testing on label values outside the
classes, which mmseg's metric drops without a word and the loss fails on deep
inside torch."""

import logging

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper

from mmwrn.registry import register_hook

ACTIONS = ('error', 'warn')


class LabelRangeError(ValueError):
    """Ground truth with label values outside the model's classes."""


def label_classes(model):
    """``(num_classes, ignore_index)`` of a segmentor (its decode head), a
    detector (the box head of its RoI head, or its dense box head: mmdet) or a
    classifier (its head); ``(None, None)`` for other models."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    head = getattr(model, 'decode_head', None)
    if head is not None:
        return head.num_classes, getattr(head, 'ignore_index', None)
    # two-stage detectors: the RoI head's box head (a list in cascades, one
    # num_classes); single-stage: bbox_head. Not rpn_head (one class: object)
    head = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    if isinstance(head, (list, tuple, torch.nn.ModuleList)):
        head = head[0]
    if head is None:
        head = getattr(model, 'bbox_head', None)
    if head is None:
        head = getattr(model, 'head', None)
    num_classes = getattr(head, 'num_classes', None)
    return (num_classes, None) if isinstance(num_classes, int) else (None, None)


def out_of_range(labels, num_classes, ignore_index=None):
    """``{value: count}`` of the entries of ``labels`` outside
    ``0 .. num_classes - 1`` other than ``ignore_index``."""
    bad = (labels < 0) | (labels >= num_classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    if not bool(bad.any()):
        return {}
    values, counts = torch.unique(labels[bad], return_counts=True)
    return dict(zip(values.tolist(), counts.tolist()))


@register_hook
class LabelRangeHook(Hook):
    """Check the ground truth of every batch, in training, validation and
    testing, against the model's classes: a segmentor's label maps
    (``gt_sem_seg``) against ``decode_head.num_classes`` with its
    ``ignore_index`` allowed, a classifier's labels (``gt_label``) against
    ``head.num_classes``, a detector's object labels (``gt_instances.labels``)
    against its box head's ``num_classes``. Out-of-range values raise :class:`LabelRangeError`
    naming the files, the values and their pixel counts.

    Without it mmseg's IoU counts only the values ``0 .. C-1``, so a label map
    with, say, 30 for 21 classes yields an mIoU with no warning; in training the
    loss fails deep inside torch (on CUDA as a device-side assert).
    ``tools/analysis_tools/check_dataset.py`` remains the full report of a
    dataset. On in the shipped configs (``configs/_base_/guards.py``); switch it
    off with ``--cfg-options custom_hooks=[]`` or by leaving it out of
    ``custom_hooks``.

    Args:
        action (str): 'error' (default) stops; 'warn' logs the same message as a
            warning and goes on (the values stay out of the metric).
    """

    priority = 'VERY_HIGH'

    def __init__(self, action='error'):
        if action not in ACTIONS:
            raise ValueError(
                f'action must be one of {ACTIONS}, got {type(action).__name__} {action!r}'
            )
        self.action = action
        self.classes = None

    def before_run(self, runner):
        self.classes = label_classes(runner.model)
        if self.classes[0] is None:
            print_log(
                f'LabelRangeHook: {type(runner.model).__name__} has no decode_head, '
                'box head or head with num_classes: labels are not checked',
                'current',
                level=logging.WARNING,
            )

    def _check(self, data_batch, where):
        num_classes, ignore_index = self.classes or (None, None)
        if num_classes is None or not isinstance(data_batch, dict):
            return
        samples = []
        for sample in data_batch.get('data_samples') or []:  # TTA: a list per image
            samples += sample if isinstance(sample, (list, tuple)) else [sample]
        problems = []
        detection = False
        for sample in samples:
            if 'gt_sem_seg' in sample:
                labels = sample.gt_sem_seg.data
                name = sample.metainfo.get('seg_map_path') or sample.metainfo.get('img_path')
            elif 'gt_label' in sample:
                labels = sample.gt_label
                name = sample.metainfo.get('img_path')
            elif 'gt_instances' in sample and 'labels' in sample.gt_instances:
                labels = sample.gt_instances.labels  # mmdet: one class per object
                name = sample.metainfo.get('img_path')
                detection = True
            else:
                continue
            bad = out_of_range(labels, num_classes, ignore_index)
            if bad:
                counts = ', '.join(f'{v}: {n}' for v, n in sorted(bad.items()))
                problems.append(f'  {name or "(no file name)"}: values {{{counts}}} (value: count)')
        if not problems:
            return
        allowed = f'0..{num_classes - 1}' + (
            '' if ignore_index is None else f' and the ignore index {ignore_index}'
        )
        message = (
            f'{where}: label values outside the {num_classes} classes '
            f'(valid: {allowed}):\n'
            + '\n'.join(problems)
            + '\nThe metric would leave them out and the loss '
            'fails on them; '
            + (
                'fix the annotations (their category ids) or the classes '
                "(the dataset's metainfo and the heads' num_classes)."
                if detection
                else 'fix the label maps or the classes '
                '(tools/analysis_tools/check_dataset.py CONFIG lists every file).'
            )
        )
        if self.action == 'warn':
            print_log(message, 'current', level=logging.WARNING)
            return
        raise LabelRangeError(message + " LabelRangeHook(action='warn') goes on anyway.")

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._check(data_batch, f'training iteration {runner.iter + 1}')

    def before_val_iter(self, runner, batch_idx, data_batch=None):
        self._check(data_batch, f'validation batch {batch_idx + 1}')

    def before_test_iter(self, runner, batch_idx, data_batch=None):
        self._check(data_batch, f'test batch {batch_idx + 1}')
