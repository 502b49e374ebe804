"""Synchronised BN in a process group of one process, as `tools/dist_train.sh
CONFIG 1` runs it: the configs' ``SyncBN`` (mmcv's ``build_norm_layer``: torch's
``nn.SyncBatchNorm``) on a GPU with nccl, mmwrn's ``mmwrn.SyncBN`` on CPU with
gloo (torch's refuses CPU modules), the model wrapped in mmengine's
MMDistributedDataParallel: the same losses, weights and BN statistics as plain
BN. With one process both compute plain BN (they synchronise from two on; the
two-process check is tests/test_tools/test_distributed.py, on CPU). mmcv's own
``MMSyncBN`` needs mmcv's CUDA ops, which the set-up does not build (mmwrn
needs none)."""

import socket

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import build_optim_wrapper

from tests.helpers.device import (
    NUM_CLASSES,
    PAPER_SEG,
    SIZES,
    build_segmenter,
    devices,
    exact_fp32,
    paper_config,
)
from tests.helpers.seg import make_batch

SYNC_BN = {
    'cuda': ('SyncBN', torch.nn.SyncBatchNorm, 'nccl'),
    'cpu': ('mmwrn.SyncBN', None, 'gloo'),
}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def process_group(request):
    backend = SYNC_BN[request.param][2]
    dist.init_process_group(
        backend, init_method=f'tcp://127.0.0.1:{free_port()}', rank=0, world_size=1
    )
    yield request.param
    dist.destroy_process_group()


@pytest.mark.slow  # a gloo / NCCL process group and several training steps
@pytest.mark.parametrize('process_group', devices(), indirect=True)
def test_sync_bn_in_one_process_group_trains_as_bn(process_group):
    device = process_group
    norm_type, torch_cls, _ = SYNC_BN[device]
    s = SIZES[device]
    batch = make_batch(NUM_CLASSES, batch=s['batch'], size=s['size'])
    models = {}
    for norm in ('BN', norm_type):
        # BN trained (not frozen), no dropout: the two runs must agree
        cfg = paper_config(
            s['tiny'],
            s['size'],
            norm_eval=False,
            drop_rates=(0,) * 6,
            norm_cfg=dict(type=norm, eps=1.001e-5, requires_grad=True),
        )
        models[norm] = build_segmenter(cfg, device)
    sync = models[norm_type]
    sync.load_state_dict(models['BN'].state_dict())
    if torch_cls is not None:
        assert any(isinstance(m, torch_cls) for m in sync.modules())
    wrapped = MMDistributedDataParallel(
        module=sync, device_ids=[torch.cuda.current_device()] if device == 'cuda' else None
    )
    optim_cfg = Config.fromfile(PAPER_SEG).optim_wrapper
    losses = {}
    with exact_fp32():
        for norm, runner_model in (('BN', models['BN']), (norm_type, wrapped)):
            wrapper = build_optim_wrapper(models[norm], optim_cfg)
            losses[norm] = [
                float(runner_model.train_step(batch, wrapper)['loss']) for _ in range(2)
            ]
    torch.testing.assert_close(losses[norm_type], losses['BN'], rtol=1e-5, atol=0)
    ref = models['BN'].state_dict()
    for name, value in sync.state_dict().items():
        torch.testing.assert_close(value, ref[name], rtol=1e-5, atol=1e-6, msg=name)
