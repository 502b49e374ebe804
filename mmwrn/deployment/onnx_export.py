"""Export of mmwrn's segmenters and classifiers to ONNX, checked with ONNX Runtime.

The graph holds the network only; the data preprocessor's work stays outside
it, as in mmdeploy: the input is an ``(N, 3, H, W)`` float32 image already
converted to the model's channel order and normalised with its mean and std
(:func:`preprocess_info`; also written into the file's metadata). The outputs:

* segmenters (mmseg ``EncoderDecoder``): ``seg_logits`` ``(N, C, H, W)``, the
  unnormalised class scores at the input size, what mmseg's whole-image
  inference gives as ``SegDataSample.seg_logits`` for an unpadded input;
* classifiers (mmpretrain ``ImageClassifier``): ``scores`` ``(N, C)``, what
  mmpretrain gives as ``pred_score`` (softmax; sigmoid for multi-label heads).

The export always uses torch's TorchScript-based exporter (``dynamo=False``
where torch has the argument: torch >= 2.9 defaults to the dynamo exporter).
"""

import inspect
import io
import logging
import warnings
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import DefaultScope
from mmengine.runner import CheckpointLoader, load_state_dict

from mmwrn.checkpoint import check_checkpoint_fits

TASKS = ('segmentation', 'classification')
DEFAULT_OPSET = 17
# bilinear resizing with align_corners (the segmenters' logits) needs opset 11
MIN_OPSET = 11
# torch.onnx.export gained `dynamo` in torch 2.5 and made it the default in 2.9
HAS_DYNAMO_ARG = 'dynamo' in inspect.signature(torch.onnx.export).parameters


class ExportError(Exception):
    """A config, shape or option the export cannot work with, or a missing
    package; the message names the problem and the fix."""


def require(module, purpose):
    """Import ``module`` (``onnx``, ``onnxruntime``) or raise
    :class:`ExportError` naming the pip command that installs it."""
    try:
        return __import__(module)
    except ImportError as e:
        raise ExportError(
            f'{purpose} needs the {module!r} package ({e}); install it with '
            f'`pip install "onnx>=1.15" "onnxruntime>=1.16"` '
            '(requirements/tests.txt)'
        ) from None


def config_task(cfg):
    """``'segmentation'`` or ``'classification'`` from the config's scope and
    model; an :class:`ExportError` for anything else."""
    scope = cfg.get('default_scope')
    model_type = (cfg.get('model') or {}).get('type')
    if scope == 'mmseg' and model_type == 'EncoderDecoder':
        return 'segmentation'
    if scope == 'mmpretrain' and model_type == 'ImageClassifier':
        return 'classification'
    raise ExportError(
        f'{cfg.filename}: the ONNX export takes an mmseg EncoderDecoder or an mmpretrain '
        f'ImageClassifier; this config has default_scope {scope!r} and model type '
        f'{model_type!r}'
    )


def default_shape(cfg, task):
    """The input ``(H, W)`` a config's model is meant for: a segmenter's
    data-preprocessor ``size`` (its training crop), a classifier's test
    ``CenterCrop`` (else 224); None when the config has none."""
    if task == 'segmentation':
        size = (cfg.model.get('data_preprocessor') or {}).get('size')
        return tuple(size) if size else None
    pipeline = cfg.get('test_dataloader', {}).get('dataset', {}).get('pipeline', [])
    for step in pipeline:
        if step.get('type') == 'CenterCrop':
            crop = step['crop_size']
            return (crop, crop) if isinstance(crop, int) else tuple(crop)[::-1]  # (w, h)
    return (224, 224)


def build_model(config, checkpoint=None, cfg_options=None, allow_partial=False):
    """``(model, task, cfg)``: the eval-mode model of ``config`` (a path or a
    :class:`Config`) on the CPU with the weights of ``checkpoint``, refused
    when they do not fit it (:func:`mmwrn.checkpoint.check_checkpoint_fits`;
    ``allow_partial`` warns instead). Without a checkpoint the model keeps its
    random initialisation, with a warning."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    task = config_task(cfg)
    scope = cfg.default_scope
    if cfg.model.get('data_preprocessor') is None and cfg.get('data_preprocessor'):
        cfg.model.data_preprocessor = cfg.data_preprocessor  # mmpretrain's layout
    # a backbone's `Pretrained` init is for training; the weights come from `checkpoint`
    if isinstance(cfg.model.get('backbone'), dict):
        cfg.model.backbone.init_cfg = None
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope):
        model = registry.build(cfg.model)
    if checkpoint is None:
        print_log(
            'no checkpoint: the model keeps its RANDOM initialisation; the ONNX file '
            'is only good for testing the export and the runtime, not for predictions',
            'current',
            level=logging.WARNING,
        )
    else:
        state = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
        check_checkpoint_fits(
            model, state, checkpoint, allow_partial, flag='--allow-partial-checkpoint'
        )
        load_state_dict(model, state.get('state_dict', state))
    if task == 'segmentation' and cfg.model.get('test_cfg', {}).get('mode', 'whole') != 'whole':
        print_log(
            f'the config tests with mode={cfg.model.test_cfg.mode!r}; the ONNX graph '
            "is whole-image inference at the exported size (windows are the caller's "
            'job)',
            'current',
            level=logging.WARNING,
        )
    return model.eval(), task, cfg


def preprocess_info(model):
    """What the caller does before the graph: ``dict(mean, std, to_rgb)``
    (per channel, in the model's channel order, on 0-255 pixel values)."""
    pre = model.data_preprocessor
    if getattr(pre, 'mean', None) is None:  # built without mean/std: no normalisation
        mean, std = [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]
    else:
        mean = [float(v) for v in pre.mean.flatten()]
        std = [float(v) for v in pre.std.flatten()]
    # mmseg: channel_conversion, mmpretrain: to_rgb (both from bgr_to_rgb / to_rgb)
    to_rgb = bool(getattr(pre, 'channel_conversion', getattr(pre, 'to_rgb', False)))
    return dict(mean=mean, std=std, to_rgb=to_rgb)


def preprocess(images, info):
    """``images``: ``(N, H, W, 3)`` uint8 BGR (as OpenCV reads them) -> the
    graph's ``(N, 3, H, W)`` float32 input."""
    x = np.asarray(images, dtype=np.float32)
    if info['to_rgb']:
        x = x[..., ::-1]
    x = (x - np.asarray(info['mean'], np.float32)) / np.asarray(info['std'], np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


class SegmentorLogits(nn.Module):
    """A segmenter's whole-image logits at the input size (``(H, W)`` fixed at
    export): ``EncoderDecoder.encode_decode`` with that size as image shape."""

    def __init__(self, segmentor, size):
        super().__init__()
        self.segmentor = segmentor
        self.size = tuple(int(s) for s in size)

    def forward(self, inputs):
        meta = dict(img_shape=self.size, pad_shape=self.size, ori_shape=self.size)
        return self.segmentor.encode_decode(inputs, [meta])


class ClassifierScores(nn.Module):
    """A classifier's class scores: the head's logits through the activation
    mmpretrain's ``predict`` applies (sigmoid for multi-label heads, softmax
    otherwise)."""

    def __init__(self, classifier):
        super().__init__()
        from mmpretrain.models.heads import ClsHead, MultiLabelClsHead

        head = classifier.head
        if isinstance(head, MultiLabelClsHead):
            self.activation = 'sigmoid'
        elif isinstance(head, ClsHead):
            self.activation = 'softmax'
        else:
            raise ExportError(
                f'{type(head).__name__}: the ONNX export knows the scores of '
                'mmpretrain ClsHead and MultiLabelClsHead subclasses only'
            )
        self.classifier = classifier

    def forward(self, inputs):
        logits = self.classifier(inputs, mode='tensor')
        if self.activation == 'sigmoid':
            return torch.sigmoid(logits)
        return torch.softmax(logits, dim=1)


def export_module(model, task, size):
    """The module whose forward is the exported graph, in eval mode (a new
    module is in training mode, and torch's exporter restores the mode it
    found, which would leave ``model`` training: dropout on, batch BN)."""
    module = SegmentorLogits(model, size) if task == 'segmentation' else ClassifierScores(model)
    return module.eval()


def output_name(task):
    return 'seg_logits' if task == 'segmentation' else 'scores'


@contextmanager
def torchscript_exporter():
    """Inside it, ``torch.onnx.export`` uses the TorchScript-based exporter
    (``dynamo=False``) unless a caller asks otherwise, on torch >= 2.9 where
    the dynamo exporter became the default; a no-op on older torch. It
    replaces the attribute of ``torch.onnx`` in this process only, for code
    (mmdeploy) that calls ``torch.onnx.export`` without the argument."""
    if not HAS_DYNAMO_ARG:
        yield
        return
    original = torch.onnx.export

    def export(*args, **kwargs):
        kwargs.setdefault('dynamo', False)
        return original(*args, **kwargs)

    torch.onnx.export = export
    try:
        yield
    finally:
        torch.onnx.export = original


def export_onnx_bytes(module, example, opset=DEFAULT_OPSET, dynamic_batch=False, output='output'):
    """Serialised ONNX model of ``module`` traced on ``example`` (TorchScript
    exporter, input ``input``, output ``output``; dimension 0 of both named
    ``batch`` and left free when ``dynamic_batch``)."""
    if opset < MIN_OPSET:
        raise ExportError(
            f'opset {opset} is too old: the export needs opset >= {MIN_OPSET} '
            f'(default {DEFAULT_OPSET})'
        )
    dynamic_axes = {'input': {0: 'batch'}, output: {0: 'batch'}} if dynamic_batch else None
    buffer = io.BytesIO()
    kwargs = dict(dynamo=False) if HAS_DYNAMO_ARG else {}
    with torch.no_grad(), warnings.catch_warnings():
        # the TorchScript exporter's tracer warnings (shapes turned into constants) and
        # torch >= 2.9's notice that it is deprecated
        warnings.simplefilter('ignore')
        try:
            torch.onnx.export(
                module,
                (example,),
                buffer,
                input_names=['input'],
                output_names=[output],
                opset_version=opset,
                dynamic_axes=dynamic_axes,
                do_constant_folding=True,
                **kwargs,
            )
        except (ValueError, RuntimeError) as e:
            if 'opset' in str(e).lower():
                raise ExportError(f'opset {opset}: {e}') from None
            raise
    return buffer.getvalue()


def add_metadata(data, props):
    """``data`` (a serialised ONNX model) with ``props`` (str -> str) added to
    its metadata, checked with ``onnx.checker``."""
    onnx = require('onnx', 'writing the ONNX metadata')
    proto = onnx.load_from_string(data)
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(proto)
    return proto.SerializeToString()


def run_onnxruntime(data, inputs):
    """The output of the ONNX model ``data`` (bytes or a path) for ``inputs``
    (``(N, 3, H, W)`` float32), on ONNX Runtime's CPU provider."""
    ort = require('onnxruntime', 'checking the ONNX file')
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(data, options, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.ascontiguousarray(inputs, dtype=np.float32)})[0]


def onnx_input_size(data, default):
    """``(H, W)`` of the ONNX model's (bytes or path) input where the file
    fixes it, else ``default``."""
    ort = require('onnxruntime', 'checking the ONNX file')
    session = ort.InferenceSession(data, providers=['CPUExecutionProvider'])
    dims = session.get_inputs()[0].shape[2:]
    return tuple(dims) if all(isinstance(d, int) and d > 0 for d in dims) else tuple(default)


def reference_output(model, task, inputs):
    """What mmseg / mmpretrain's own inference gives for ``inputs`` (the
    graph's input): a segmenter's ``seg_logits``, a classifier's
    ``pred_score``, stacked into an array."""
    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32))
    with torch.no_grad():
        if task == 'segmentation':
            from mmseg.structures import SegDataSample

            size = tuple(x.shape[2:])
            samples = [
                SegDataSample(metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size))
                for _ in x
            ]
            results = model.predict(x, samples)
            return torch.stack([r.seg_logits.data for r in results]).numpy()
        results = model.predict(x)
        return torch.stack([r.pred_score for r in results]).numpy()


def random_inputs(info, batch, size, seed=0):
    """Normalised random uint8 images: the graph's input at the value range of
    real images."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (batch, size[0], size[1], 3), dtype=np.uint8)
    return preprocess(images, info)


def compare(model, task, data, inputs):
    """``(max |ORT - PyTorch|, max |PyTorch|)`` for ``inputs``."""
    ref = reference_output(model, task, inputs)
    got = run_onnxruntime(data, inputs)
    if got.shape != ref.shape:
        raise ExportError(f'ONNX Runtime gives shape {got.shape}, PyTorch {ref.shape}')
    return float(np.abs(got - ref).max()), float(np.abs(ref).max())
