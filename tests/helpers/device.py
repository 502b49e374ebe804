"""Device-parameterised checks of the paper's segmenter, shared by the CUDA
tests (real widths on a GPU) and their CPU runs at tiny widths in the normal
suite (tests/test_cuda/): the same code path on both devices, only the sizes
differ."""

import contextlib
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch.nn.modules.batchnorm import _BatchNorm

from tests.helpers.demo_data import synthetic_data
from tests.helpers.seg import ROOT, shrink

PAPER_SEG = osp.join(
    ROOT, 'configs', 'wider_resnet_seg', 'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py'
)
NUM_CLASSES = 21
# real widths on a GPU (the GPU machine's CPU computes the reference at this
# size in seconds); the real layouts at 1/16 width on CPU
SIZES = {'cuda': dict(tiny=False, batch=2, size=128), 'cpu': dict(tiny=True, batch=2, size=64)}


def devices(cpu=True):
    """``pytest.param`` per device: 'cuda' carries the ``cuda`` marker (skipped
    without a GPU, tests/conftest.py); 'cpu' runs in the normal suite."""
    params = [pytest.param('cuda', marks=pytest.mark.cuda)]
    return ([pytest.param('cpu')] if cpu else []) + params


def paper_config(tiny, size, head=None, **backbone):
    """The paper's VOC segmenter config (A1, output stride 8, "2 conv." head,
    bootstrapped CE, frozen BN, dropout in B6/B7), without pretrained weights,
    for inputs of ``size``; ``head`` and ``backbone`` override arguments of the
    decode head and the backbone."""
    cfg = Config.fromfile(PAPER_SEG)
    if tiny:
        shrink(cfg, size)
    else:
        cfg.model.data_preprocessor.size = (size, size)
        cfg.model.backbone.init_cfg = None
    cfg.model.backbone.update(backbone)
    for key, value in (head or {}).items():  # replaced, not merged
        cfg.model.decode_head[key] = value
    return cfg


def build_segmenter(cfg, device='cpu'):
    from mmseg.registry import MODELS

    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.to(device)


def scene_batch(batch, size, seed=0):
    """A batch a segmenter can learn (the demo data's scenes: textured shapes,
    each class with its own colour, shape and texture), as the data loader
    gives it: uint8 CHW images and SegDataSamples."""
    rng = np.random.RandomState(seed)
    inputs, samples = [], []
    for _ in range(batch):
        img, label = synthetic_data.render_scene(rng, size, size, NUM_CLASSES)
        inputs.append(torch.from_numpy(img).permute(2, 0, 1).contiguous())
        sample = SegDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size),
                scale_factor=(1.0, 1.0),
            )
        )
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(label.astype(np.int64))[None])
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def paper_segmenter(device, head=None, **backbone):
    """The paper's segmenter at the size of ``device`` (SIZES) and a fixed batch
    of the demo data's scenes for it."""
    s = SIZES[device]
    model = build_segmenter(paper_config(s['tiny'], s['size'], head, **backbone), device)
    return model, scene_batch(s['batch'], s['size'])


def set_with_cp(model, mode):
    """Set the memory mode (``with_cp``: False, True or 'norm_act') of every
    unit and of the backbone (its stem recomputation)."""
    for m in model.modules():
        if hasattr(m, 'with_cp'):
            m.with_cp = mode


@contextlib.contextmanager
def exact_fp32():
    """fp32 matmuls and convolutions on CUDA (no TF32) and deterministic cuDNN
    algorithms, restored on exit."""
    saved = (
        torch.backends.cuda.matmul.allow_tf32,
        torch.backends.cudnn.allow_tf32,
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        (
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32,
            torch.backends.cudnn.deterministic,
            torch.backends.cudnn.benchmark,
        ) = saved


def calibrate_bn(model, batch):
    """Set every BN's running statistics to those of ``batch`` (one forward with
    batch statistics, cumulative average), as a network fine-tuned from
    ImageNet weights has statistics that fit its inputs. The paper trains with
    BN frozen to these statistics; with the init's (0, 1) a randomly initialised
    38-layer network has no normalisation at all."""
    bns = [m for m in model.modules() if isinstance(m, _BatchNorm)]
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    with torch.no_grad():
        data = model.data_preprocessor(batch, True)
        model.extract_feat(data['inputs'])
    for m, momentum in zip(bns, momenta):
        m.momentum = momentum
    model.train()  # norm_eval puts the frozen BN back in eval mode


def loss_and_grads(model, batch, memory_format=torch.contiguous_format, dtype=None):
    """One forward (mode 'loss', the runner's path) and backward; returns the
    loss, the gradient of every parameter (on CPU) and the backbone's output.
    ``dtype`` casts the preprocessed inputs (which mmseg makes float32), for a
    model converted to that dtype."""
    model.train()
    model.zero_grad(set_to_none=True)
    data = model.data_preprocessor(batch, True)
    inputs = data['inputs'].to(dtype=dtype, memory_format=memory_format)
    feats = []
    handle = model.backbone.register_forward_hook(lambda m, i, out: feats.append(out[-1]))
    try:
        losses = model(inputs, data['data_samples'], mode='loss')
    finally:
        handle.remove()
    loss, _ = model.parse_losses(losses)
    loss.backward()
    grads = {
        n: p.grad.detach().float().cpu() for n, p in model.named_parameters() if p.requires_grad
    }
    return loss.detach().float().cpu(), grads, feats[0].detach()


def assert_grads_close(grads, ref, rtol):
    """Every gradient present and within ``rtol`` of the reference in relative
    norm (||g - ref|| <= rtol * ||ref||): robust to the summation order of
    different kernels, which makes element-wise tolerances meaningless for
    near-zero entries."""
    assert set(grads) == set(ref)
    for name, r in ref.items():
        g = grads[name]
        assert g is not None and torch.isfinite(g).all(), name
        err = (g - r).norm() / r.norm().clamp(min=1e-12)
        assert err <= rtol, f'{name}: relative error {err:.2e} > {rtol:.0e}'


def amp_losses(model, batch, dtype, steps):
    """Train ``steps`` iterations on one fixed batch with the config's optimiser
    (the paper's SGD: lr 0.0016, momentum 0.9, 2x lr for biases) in mmengine's
    ``AmpOptimWrapper`` (what ``tools/train.py --amp`` selects), through
    ``model.train_step`` as the runner calls it; returns the losses and the
    wrapper."""
    cfg = Config.fromfile(PAPER_SEG).optim_wrapper
    cfg.update(type='AmpOptimWrapper', dtype=dtype, loss_scale='dynamic')
    optim_wrapper = build_optim_wrapper(model, cfg)
    model.train()
    losses = []
    for _ in range(steps):
        log_vars = model.train_step(batch, optim_wrapper)
        losses.append(log_vars['loss'].item())
    return losses, optim_wrapper
