"""ONNX export (tools/deployment/pytorch2onnx.py) and the mmdeploy path
(tools/deployment/deploy.py) on shipped configs at tiny widths: ONNX Runtime
must give what mmseg's / mmpretrain's own inference gives (``test_step`` on the
same uint8 image, its data preprocessor included), at batch 1 and 3 for a
free batch; outputs never overwrite inputs; a missing mmdeploy is named with
its fix.

Tolerance: ONNX Runtime and PyTorch are both float32 CPU code summing in a
different order. Measured max abs diffs here, as fractions of max |output|,
are at most 2.5e-7 (torch 2.15; segmenter logits 2.2e-8 at 0.09, DeepLabV3+
1.2e-7 at 0.48, classifier scores 2.3e-10 at 1.3e-3, CAM scores 6e-8 at 0.53;
torch 2.1.2 alike). The bar, ``1e-5 * max|output| + 1e-7``, leaves a factor
of 40 for other BLAS/oneDNN builds and still fails on any real graph error (a
wrong resize, a missing normalisation, dropout or batch statistics left on
move outputs by 1e-2 of their scale or more). Real widths sum more terms:
1.7e-5 measured there, hence the tools' looser default (atol 1e-4, rtol 1e-3;
docs/en/user_guides/deployment.md).
"""

import hashlib
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint

from mmwrn.deployment import onnx_export as ox
from tests.helpers.cls import shrink_cls
from tests.helpers.seg import ROOT, load_tiny

onnx = pytest.importorskip('onnx')
ort = pytest.importorskip('onnxruntime')

SEG_CONFIGS = [
    osp.join(
        ROOT,
        'configs',
        'wider_resnet_seg',
        'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py',
    ),
    osp.join(
        ROOT,
        'configs',
        'wider_resnet_seg',
        'deeplabv3plus_wider-resnet38-a2-d8_4xb2-80k_cityscapes-512x1024.py',
    ),
]
CLS_CONFIGS = [
    osp.join(ROOT, 'configs', 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py'),
    # multi-label (sigmoid scores)
    osp.join(
        ROOT,
        'configs',
        'wider_resnet_wsss',
        'wider-resnet38-a1-d8-cam_2xb8-15e_voc12aug-448x448.py',
    ),
]
DEPLOY = osp.join(ROOT, 'configs', 'deploy')
SIZE = 64
ENV = dict(os.environ, PYTHONWARNINGS='ignore', PYTHONPATH=ROOT)
RTOL, ATOL = 1e-5, 1e-7


def load_tool(name):
    path = osp.join(ROOT, 'tools', 'deployment', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_mmwrn_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(*args):
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=ROOT, env=ENV, capture_output=True, text=True
    )


def sha(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def tiny_config(path, tmp_path):
    """A shipped config at tiny widths, written to ``tmp_path``, and a
    checkpoint of it whose BN statistics are not the identity (so that a
    graph that skipped BN, or used batch statistics, would differ)."""
    is_seg = 'wider_resnet_seg' in path
    cfg = load_tiny(path, SIZE) if is_seg else shrink_cls(Config.fromfile(path))
    config = str(tmp_path / 'config.py')
    cfg.dump(config)
    model, _, _ = ox.build_model(config)
    g = torch.Generator().manual_seed(1)
    for name, buf in model.state_dict().items():
        if name.endswith('running_mean'):
            buf.copy_(torch.randn(buf.shape, generator=g) * 0.1)
        elif name.endswith('running_var'):
            buf.copy_(torch.rand(buf.shape, generator=g) + 0.5)
    ckpt = str(tmp_path / 'model.pth')
    save_checkpoint({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    return config, ckpt


def images(batch, seed, size=(SIZE, SIZE)):
    """uint8 BGR images (N, H, W, 3), as OpenCV reads them."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (batch, *size, 3), dtype=np.uint8)


def host_output(model, task, imgs):
    """What mmseg / mmpretrain give for ``imgs`` through ``test_step``: their
    data preprocessor on the uint8 images, then inference."""
    inputs = [torch.from_numpy(img.transpose(2, 0, 1).copy()) for img in imgs]
    with torch.no_grad():
        if task == 'segmentation':
            from mmseg.structures import SegDataSample

            shape = imgs.shape[1:3]
            samples = [SegDataSample(metainfo=dict(img_shape=shape, ori_shape=shape)) for _ in imgs]
            results = model.test_step(dict(inputs=inputs, data_samples=samples))
            return np.stack([r.seg_logits.data.numpy() for r in results])
        results = model.test_step(dict(inputs=inputs, data_samples=None))
        return np.stack([r.pred_score.numpy() for r in results])


def onnx_run(path, imgs):
    """ONNX Runtime on ``imgs`` preprocessed as the file's metadata says."""
    proto = onnx.load(path)
    meta = {p.key: p.value for p in proto.metadata_props}
    info = dict(
        mean=json.loads(meta['mean']),
        std=json.loads(meta['std']),
        to_rgb=json.loads(meta['to_rgb']),
    )
    x = np.asarray(imgs, np.float32)
    if info['to_rgb']:
        x = x[..., ::-1]
    x = ((x - np.float32(info['mean'])) / np.float32(info['std'])).transpose(0, 3, 1, 2)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    return session.run(None, {'input': np.ascontiguousarray(x, np.float32)})[0]


def assert_close(got, ref):
    assert got.shape == ref.shape
    diff, scale = np.abs(got - ref).max(), np.abs(ref).max()
    assert scale > 0
    assert diff <= ATOL + RTOL * scale, (diff, scale)


@pytest.mark.compat
@pytest.mark.parametrize('path', SEG_CONFIGS + CLS_CONFIGS, ids=osp.basename)
def test_export_matches_host_inference(path, tmp_path):
    config, ckpt = tiny_config(path, tmp_path)
    out = str(tmp_path / 'model.onnx')
    tool = load_tool('pytorch2onnx')
    done = tool.export(config, out, ckpt, shape=[SIZE], dynamic_batch=True, atol=ATOL, rtol=RTOL)
    task = done['task']
    assert task == ('segmentation' if 'wider_resnet_seg' in path else 'classification')
    assert [n for n, _, _ in done['diffs']] == [1, 3]
    proto = onnx.load(out)
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == ['input']
    assert [o.name for o in proto.graph.output] == [ox.output_name(task)]
    model, _, _ = ox.build_model(config, ckpt)
    num_classes = (
        model.decode_head.out_channels if task == 'segmentation' else model.head.num_classes
    )
    for batch in (1, 3):  # the free batch dimension
        imgs = images(batch, seed=10 + batch)
        ref = host_output(model, task, imgs)
        got = onnx_run(out, imgs)
        expected = (batch, num_classes) + ((SIZE, SIZE) if task == 'segmentation' else ())
        assert got.shape == expected
        assert_close(got, ref)


@pytest.mark.compat
def test_static_batch_and_opset(tmp_path):
    config, ckpt = tiny_config(CLS_CONFIGS[0], tmp_path)
    out = str(tmp_path / 'static.onnx')
    load_tool('pytorch2onnx').export(
        config, out, ckpt, shape=[SIZE, 48], batch=2, opset=13, atol=ATOL, rtol=RTOL
    )
    proto = onnx.load(out)
    assert proto.opset_import[0].version == 13
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [2, 3, SIZE, 48]
    with pytest.raises(ox.ExportError, match='opset >= 11'):
        ox.export_onnx_bytes(torch.nn.Identity(), torch.zeros(1), opset=9)


@pytest.mark.slow
@pytest.mark.compat
def test_cli_refuses_inputs_and_warns_without_checkpoint(tmp_path):
    config, ckpt = tiny_config(SEG_CONFIGS[0], tmp_path)
    before = sha(config), sha(ckpt)
    tool = osp.join('tools', 'deployment', 'pytorch2onnx.py')
    for target in (config, ckpt):
        out = run(tool, config, '--checkpoint', ckpt, '--out', target, '--shape', SIZE)
        assert out.returncode == 1, out.stderr[-2000:]
        assert 'refusing to overwrite an input' in out.stderr
        assert 'Traceback' not in out.stderr
    assert (sha(config), sha(ckpt)) == before
    onnx_file = tmp_path / 'random.onnx'
    out = run(tool, config, '--out', onnx_file, '--shape', SIZE)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'RANDOM initialisation' in out.stdout + out.stderr
    assert 'ONNX Runtime vs PyTorch, batch 1: max abs diff' in out.stdout
    assert onnx_file.is_file()
    proto = onnx.load(str(onnx_file))
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta['checkpoint'] == 'none (random initialisation)'
    assert meta['task'] == 'segmentation'


@pytest.mark.compat
def test_torchscript_exporter_forced_in_context(monkeypatch):
    calls = []

    def fake_export(*args, **kwargs):
        calls.append(kwargs)

    monkeypatch.setattr(torch.onnx, 'export', fake_export)
    with ox.torchscript_exporter():
        torch.onnx.export('model', (), 'f.onnx', opset_version=11)
        torch.onnx.export('model', (), 'f.onnx', dynamo=True)
    assert torch.onnx.export is fake_export  # restored
    if ox.HAS_DYNAMO_ARG:
        assert calls == [dict(opset_version=11, dynamo=False), dict(dynamo=True)]
    else:  # torch < 2.5: nothing to force, the call is untouched
        assert calls == [dict(opset_version=11), dict(dynamo=True)]


@pytest.mark.compat
@pytest.mark.parametrize('name', sorted(os.listdir(DEPLOY)))
def test_deploy_configs_load_without_mmdeploy(name):
    from mmwrn.deployment import mmdeploy_bridge as bridge

    cfg = bridge.load_deploy_config(osp.join(DEPLOY, name))
    assert '_base_' not in cfg
    task = bridge.TASKS[cfg.codebase_config.type]
    assert name.startswith(task)
    assert cfg.onnx_config.input_names == ['input']
    if 'dynamic' in name:
        assert 0 in cfg.onnx_config.dynamic_axes['input']
    if 'static' in name:
        assert not cfg.onnx_config.get('dynamic_axes')
    if task == 'segmentation':  # logits out, comparable with mmseg
        assert cfg.codebase_config.with_argmax is False


@pytest.mark.slow
def test_deploy_names_the_fix_without_mmdeploy(tmp_path):
    """mmdeploy made unimportable (whether or not it is installed)."""
    config, _ = tiny_config(SEG_CONFIGS[0], tmp_path)
    deploy = osp.join(DEPLOY, 'segmentation_onnxruntime_dynamic.py')
    code = (
        'import sys, runpy; sys.modules["mmdeploy"] = None; '
        f'sys.argv = ["deploy.py", {deploy!r}, {config!r}, '
        f'"--work-dir", {str(tmp_path / "work")!r}]; '
        'runpy.run_path("tools/deployment/deploy.py", run_name="__main__")'
    )
    out = run('-c', code)
    assert out.returncode == 1
    assert 'mmdeploy is not importable' in out.stderr
    assert 'pip install --no-deps mmdeploy==1.3.1' in out.stderr
    assert 'tools/deployment/pytorch2onnx.py' in out.stderr
    assert 'Traceback' not in out.stderr


def mmdeploy_reason():
    try:
        import mmdeploy.apis  # noqa: F401
    except ImportError as e:
        return f'mmdeploy is not installed ({e}); docs/en/user_guides/deployment.md'
    return None


@pytest.mark.slow
@pytest.mark.skipif(mmdeploy_reason() is not None, reason=str(mmdeploy_reason()))
@pytest.mark.parametrize(
    'deploy, path',
    [
        ('segmentation_onnxruntime_static-504x504.py', SEG_CONFIGS[0]),
        ('segmentation_onnxruntime_dynamic.py', SEG_CONFIGS[0]),
        ('classification_onnxruntime_dynamic.py', CLS_CONFIGS[0]),
        ('classification_onnxruntime_static.py', CLS_CONFIGS[1]),
    ],
    ids=lambda v: osp.basename(v),
)
def test_mmdeploy_matches_host_inference(deploy, path, tmp_path):
    config, ckpt = tiny_config(path, tmp_path)
    deploy_cfg = Config.fromfile(osp.join(DEPLOY, deploy))
    if deploy_cfg.onnx_config.get('input_shape'):  # tiny input for the tiny model
        deploy_cfg.onnx_config.input_shape = [SIZE, SIZE]
    deploy_file = str(tmp_path / 'deploy.py')
    deploy_cfg.dump(deploy_file)
    work = tmp_path / 'work'
    out = run(
        osp.join('tools', 'deployment', 'deploy.py'),
        deploy_file,
        config,
        '--work-dir',
        work,
        '--checkpoint',
        ckpt,
        '--atol',
        ATOL,
        '--rtol',
        RTOL,
    )
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    assert 'ONNX Runtime vs PyTorch, batch 1: max abs diff' in out.stdout
    onnx_file = str(work / 'end2end.onnx')
    assert sorted(os.listdir(work)) == ['end2end.onnx']  # no temporary folder left
    model, task, cfg = ox.build_model(config, ckpt)
    batches = (1, 3) if 'dynamic' in deploy else (1,)
    # a classifier's size is its config's test crop (mmdeploy's mmpretrain task)
    size = ox.onnx_input_size(onnx_file, (SIZE, SIZE))
    assert size == ((SIZE, SIZE) if task == 'segmentation' else ox.default_shape(cfg, task))
    for batch in batches:
        imgs = images(batch, seed=20 + batch, size=size)
        info = ox.preprocess_info(model)
        session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
        got = session.run(None, {'input': ox.preprocess(imgs, info)})[0]
        assert_close(got, host_output(model, task, imgs))
