"""mmdeploy (1.x) for mmwrn's configs, through mmdeploy's public APIs.

mmdeploy 1.3.1 calls ``torch.onnx.export`` without ``dynamo``; from torch 2.9
that means the dynamo exporter, which mmdeploy's rewriters do not work with
(the conversion fails before the model is traced). :func:`convert` runs
mmdeploy inside :func:`~mmwrn.deployment.onnx_export.torchscript_exporter`,
which gives that call ``dynamo=False`` in this process only; mmdeploy's files
are not changed.
"""

import os
import os.path as osp
import shutil
import tempfile

import numpy as np
from mmengine.config import Config

from mmwrn.deployment import onnx_export as ox
from mmwrn.utils.outputs import OutputError, check_output

# mmdeploy's wheel pins protobuf<=3.20.2, which onnx >= 1.15 cannot use; its Python
# APIs import with the newer protobuf. What it needs besides the OpenMMLab stack:
MMDEPLOY_INSTALL = (
    'pip install --no-deps mmdeploy==1.3.1 && '
    'pip install aenum multiprocess dill terminaltables prettytable'
)
TASKS = {'mmseg': 'segmentation', 'mmpretrain': 'classification'}


def import_mmdeploy():
    """mmdeploy's ``apis`` module, or an :class:`ExportError` naming the fix."""
    try:
        import mmdeploy.apis as apis
    except ImportError as e:
        raise ox.ExportError(
            f'mmdeploy is not importable ({e}). Install it without its protobuf<=3.20.2 pin: '
            f'`{MMDEPLOY_INSTALL}`; or export without mmdeploy: '
            'tools/deployment/pytorch2onnx.py (docs/en/user_guides/deployment.md)'
        ) from None
    return apis


def load_deploy_config(deploy_cfg):
    """The mmdeploy config (path or :class:`Config`), checked for what
    :func:`convert` handles: an ONNX IR, the ONNX Runtime backend and the
    mmseg or mmpretrain codebase."""
    cfg = deploy_cfg if isinstance(deploy_cfg, Config) else Config.fromfile(deploy_cfg)
    name = cfg.filename or 'the deploy config'
    for key in ('onnx_config', 'codebase_config', 'backend_config'):
        if not isinstance(cfg.get(key), dict):
            raise ox.ExportError(
                f"{name} has no {key}: not an mmdeploy deploy config (configs/deploy/ has mmwrn's)"
            )
    if cfg.backend_config.get('type') != 'onnxruntime':
        raise ox.ExportError(
            f'{name}: backend {cfg.backend_config.get("type")!r}; '
            'tools/deployment/deploy.py converts for onnxruntime only'
        )
    if cfg.codebase_config.get('type') not in TASKS:
        raise ox.ExportError(
            f'{name}: codebase {cfg.codebase_config.get("type")!r}; mmwrn deploys {sorted(TASKS)}'
        )
    return cfg


def input_size(deploy_cfg, default=(512, 512)):
    """``(H, W)`` of the deploy config's static ``input_shape`` (mmdeploy
    writes it ``[W, H]``), else ``default``."""
    shape = deploy_cfg.onnx_config.get('input_shape')
    return (shape[1], shape[0]) if shape else tuple(default)


def convert(
    deploy_cfg, model_cfg, work_dir, checkpoint=None, img=None, device='cpu', dump_info=False
):
    """Convert ``model_cfg`` (+ ``checkpoint``) with mmdeploy's ``torch2onnx``
    into ``work_dir/<onnx_config.save_file>``, forcing the TorchScript
    exporter; ``img`` (a path or an HxWx3 uint8 BGR array) is mmdeploy's
    example input (default: a random image of the deploy config's size).
    The file is written into a temporary folder of ``work_dir`` and moved
    into place, never over an input. ``dump_info`` also writes mmdeploy's
    SDK files (deploy.json, pipeline.json, detail.json). Returns the path."""
    apis = import_mmdeploy()
    deploy = load_deploy_config(deploy_cfg)
    save_file = deploy.onnx_config.get('save_file', 'end2end.onnx')
    out = osp.join(work_dir, save_file)
    inputs = [
        deploy.filename,
        model_cfg if isinstance(model_cfg, str) else None,
        checkpoint,
        img if isinstance(img, str) else None,
    ]
    check_output(out, inputs, what='ONNX file')
    if img is None:
        h, w = input_size(deploy)
        img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    os.makedirs(work_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.mmdeploy-', dir=work_dir)
    try:
        with ox.torchscript_exporter():
            apis.torch2onnx(img, tmp, save_file, deploy, model_cfg, checkpoint, device)
        if not osp.isfile(osp.join(tmp, save_file)):
            raise ox.ExportError(f'mmdeploy wrote no {save_file} (see its log above)')
        os.replace(osp.join(tmp, save_file), out)
    except OSError as e:
        raise OutputError(f'cannot write {out}: {e.strerror or e}') from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if dump_info:
        from mmdeploy.backend.sdk.export_info import export2SDK

        export2SDK(deploy, model_cfg, work_dir, pth=checkpoint, device=device)
    return out


def verify(onnx_file, deploy_cfg, model_cfg, checkpoint=None, batches=(1,)):
    """``[(batch, max abs diff, max |PyTorch|)]`` of ONNX Runtime on
    ``onnx_file`` against mmseg's / mmpretrain's own inference, on random
    images of the size the file fixes (a classifier's: the model config's test
    crop), else the deploy config's, else 512x512. A segmentation config must
    keep the logits (``codebase_config.with_argmax=False``)."""
    deploy = load_deploy_config(deploy_cfg)
    if deploy.codebase_config.type == 'mmseg' and deploy.codebase_config.get('with_argmax', True):
        raise ox.ExportError(
            'the graph ends in argmax (codebase_config.with_argmax=True): '
            'there are no scores to compare; check a with_argmax=False '
            'config (configs/deploy/segmentation_*)'
        )
    model, task, _ = ox.build_model(model_cfg, checkpoint)
    info = ox.preprocess_info(model)
    size = ox.onnx_input_size(onnx_file, input_size(deploy))
    results = []
    for n in batches:
        inputs = ox.random_inputs(info, n, size, seed=n + 1)
        results.append((n, *ox.compare(model, task, onnx_file, inputs)))
    return results
