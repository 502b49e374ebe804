"""2-process distributed runs on CPU (torchrun via tools/dist_train.sh, gloo):
a config with mmcv's CUDA-only SyncBN runs with mmwrn's CPU synchronised BN and
gives the losses of one process with the same global batch; a four-level
decoder trains under DDP with find_unused_parameters=False."""

import json
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmwrn.cli.launch import replace_sync_bn
from mmwrn.models.utils import SyncBatchNorm
from tests.helpers.demo_data import synthetic_data
from tests.helpers.logs import captured_log
from tests.helpers.seg import ROOT, tiny_train_config

DEMO = osp.join(
    ROOT, 'configs', 'demo', 'twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96.py'
)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def write_config(tmp, data_root, batch, out_dir):
    cfg = Config.fromfile(DEMO)
    cfg.custom_imports = dict(imports=['mmwrn', 'tests.helpers.dist'], allow_failed_imports=False)
    # mmcv's SyncBN (CUDA only): tools/train.py uses mmwrn.SyncBN in its place on CPU
    cfg.model.backbone.update(norm_cfg=dict(type='SyncBN'), drop_rates=(0,) * 6)
    # mmseg's CE averages over all pixels: the mean of the ranks' losses is then
    # the loss of the global batch (the bootstrapped CE selects per batch)
    cfg.model.decode_head.loss_decode = dict(type='CrossEntropyLoss', loss_weight=1.0)
    cfg.model.data_preprocessor.size = (64, 64)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='Resize', scale=(64, 64), keep_ratio=False),
        dict(type='PackSegInputs'),
    ]
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.update(data_root=data_root, pipeline=pipeline)
    cfg.train_dataloader.update(batch_size=batch, num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3, val_interval=100)
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.param_scheduler = []
    cfg.custom_hooks = [dict(type='LossRecorderHook', out_dir=out_dir)]
    cfg.default_hooks.checkpoint.interval = 100
    path = osp.join(tmp, f'config_b{batch}.py')
    cfg.dump(path)
    return path


def dist_env():
    return dict(
        os.environ,
        PYTHONWARNINGS='ignore',
        PYTHON=sys.executable,
        PORT=str(free_port()),
        OMP_NUM_THREADS='1',
    )


@pytest.mark.slow
def test_two_process_syncbn_matches_single_process(tmp_path):
    data_root = synthetic_data.make_voc(
        str(tmp_path / 'data'), num_train=4, num_val=2, size=64, num_classes=6
    )
    env = dist_env()
    single, multi = tmp_path / 'single', tmp_path / 'multi'
    single.mkdir(), multi.mkdir()
    subprocess.run(
        [
            sys.executable,
            'tools/train.py',
            write_config(str(tmp_path), data_root, 4, str(single)),
            '--work-dir',
            str(single),
            '--no-validate',
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            'bash',
            'tools/dist_train.sh',
            write_config(str(tmp_path), data_root, 2, str(multi)),
            '2',
            '--work-dir',
            str(multi),
            '--no-validate',
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'gloo' in log
    assert 'using mmwrn.SyncBN (synchronised BN on CPU) instead of SyncBN' in log
    ref = json.load(open(single / 'losses_rank0.json'))
    ranks = [json.load(open(multi / f'losses_rank{r}.json')) for r in (0, 1)]
    assert len(ref) == 3 and ranks[0] != ranks[1], 'ranks saw different halves of the batch'
    np.testing.assert_allclose(np.mean(ranks, axis=0), ref, rtol=2e-4)


def test_syncbn_single_process_is_batchnorm():
    torch.manual_seed(0)
    bn, sbn = torch.nn.BatchNorm2d(3), SyncBatchNorm(3)
    x = torch.randn(4, 3, 5, 5)
    torch.testing.assert_close(sbn(x), bn(x))
    torch.testing.assert_close(sbn.running_var, bn.running_var)


@pytest.mark.slow
def test_four_level_decoder_ddp_without_find_unused_parameters(tmp_path):
    """UPerNet on B3-B6 under DDP with mmseg's default find_unused_parameters=False
    (with B7 built but unused, DDP stopped at iteration 2: "Expected to have
    finished reduction in the prior iteration")."""
    config = osp.join(
        ROOT,
        'configs',
        'wider_resnet_seg',
        'upernet_wider-resnet38-a1-b6_4xb4-80k_ade20k-512x512.py',
    )
    data_root = synthetic_data.make_ade20k(str(tmp_path / 'data'), 4, 2)
    cfg_path = tiny_train_config(config, data_root, str(tmp_path), iters=4)
    cfg = Config.fromfile(cfg_path)
    assert not cfg.get('find_unused_parameters') and 'model_wrapper_cfg' not in cfg
    assert cfg.model.decode_head.norm_cfg.type == 'SyncBN'
    work = tmp_path / 'work'
    out = subprocess.run(
        ['bash', 'tools/dist_train.sh', cfg_path, '2', '--work-dir', str(work), '--no-validate'],
        cwd=ROOT,
        env=dist_env(),
        capture_output=True,
        text=True,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'Expected to have finished reduction' not in log
    # backbone and both heads: SyncBN replaced for the CPU run
    assert 'using mmwrn.SyncBN (synchronised BN on CPU) instead of SyncBN' in log
    assert osp.isfile(work / 'iter_4.pth')
    scalars = [json.loads(line) for line in open(next(work.glob('*/vis_data/scalars.json')))]
    losses = [r['loss'] for r in scalars if 'loss' in r]
    assert len(losses) == 4 and all(np.isfinite(losses))


def test_replace_sync_bn_everywhere_in_the_model():
    model = dict(
        backbone=dict(type='WiderResNet', norm_cfg=dict(type='SyncBN', requires_grad=True)),
        decode_head=[
            dict(type='FCNHead', norm_cfg=dict(type='mmseg.SyncBN')),
            dict(type='OCRHead', norm_cfg=dict(type='BN')),
        ],
        neck=dict(type='FPN', norm_cfg=dict(type='MMSyncBN')),
        auxiliary_head=dict(type='FCNHead', norm_cfg=dict(type='mmwrn.SyncBN')),
    )
    assert sorted(replace_sync_bn(model)) == ['MMSyncBN', 'SyncBN', 'mmseg.SyncBN']
    assert model['backbone']['norm_cfg'] == dict(type='mmwrn.SyncBN', requires_grad=True)
    assert model['decode_head'][0]['norm_cfg']['type'] == 'mmwrn.SyncBN'
    assert model['decode_head'][1]['norm_cfg']['type'] == 'BN'
    assert model['neck']['norm_cfg']['type'] == 'mmwrn.SyncBN'
    assert replace_sync_bn(model) == []


def test_readme_shrink_recipe_turns_persistent_workers_off():
    """docs/en/user_guides/segmentation.md, "Shrinking a run": num_workers=0 alone, on a config with
    persistent_workers=True (torch's DataLoader refuses the pair)."""
    import argparse

    from mmwrn.cli.launch import add_launch_args, setup_cfg

    parser = argparse.ArgumentParser()
    parser.add_argument('--work-dir')
    parser.add_argument('--resume', default=None)
    for flag in ('--amp', '--auto-scale-lr', '--no-validate'):
        parser.add_argument(flag, action='store_true')
    add_launch_args(parser)
    args = parser.parse_args(
        [
            '--cfg-options',
            'train_dataloader.num_workers=0',
            'train_cfg.max_iters=20',
            'param_scheduler.0.end=20',
        ]
    )
    cfg = Config.fromfile(DEMO)
    assert cfg.train_dataloader.persistent_workers and cfg.train_dataloader.num_workers > 0
    cfg = setup_cfg(cfg, args, mode='train')
    loader = cfg.train_dataloader
    assert loader.num_workers == 0 and loader.persistent_workers is False
    assert cfg.train_cfg.max_iters == 20 and cfg.param_scheduler[0].end == 20
    torch.utils.data.DataLoader(
        [0], num_workers=loader.num_workers, persistent_workers=loader.persistent_workers
    )


def test_slurm_dist_env_from_slurm_variables():
    from mmwrn.cli.launch import slurm_dist_env

    env = dict(
        SLURM_PROCID='3',
        SLURM_NTASKS='4',
        SLURM_LOCALID='1',
        MASTER_ADDR='10.0.0.7',
        SLURM_STEP_NODELIST='n[1-2]',
    )
    assert slurm_dist_env(env) == dict(
        RANK='3', WORLD_SIZE='4', LOCAL_RANK='1', MASTER_PORT='29500', MASTER_ADDR='10.0.0.7'
    )
    assert env['RANK'] == '3'
    with pytest.raises(RuntimeError, match='SLURM_PROCID not set: run it under srun'):
        slurm_dist_env(dict(SLURM_NTASKS='2'))


def test_finish_distributed_destroys_the_process_group(tmp_path, monkeypatch):
    """tools/train.py and tools/test.py end with it: gloo's teardown left to
    interpreter exit aborted a rank (SIGABRT) after about one in three finished
    two-process CPU runs on torch 2.15. Without the barrier on an error, and a
    peer already gone (the barrier raises) is logged, the group destroyed."""
    import torch.distributed as dist

    from mmwrn.cli.launch import finish_distributed

    finish_distributed()  # not distributed: nothing to do
    store = tmp_path / 'store'
    barriers = []
    real_barrier = dist.barrier
    monkeypatch.setattr(dist, 'barrier', lambda: barriers.append(real_barrier()))
    try:
        for kwargs in (dict(), dict(barrier=False)):
            dist.init_process_group('gloo', init_method=f'file://{store}', rank=0, world_size=1)
            finish_distributed(**kwargs)
            assert not dist.is_initialized()
            store.unlink(missing_ok=True)
        assert len(barriers) == 1

        def peer_gone():
            raise RuntimeError('Connection closed by peer')

        monkeypatch.setattr(dist, 'barrier', peer_gone)
        dist.init_process_group('gloo', init_method=f'file://{store}', rank=0, world_size=1)
        with captured_log() as logs:
            finish_distributed()
        assert not dist.is_initialized()
        assert any('did not reach the end of the run: Connection closed by peer' in m for m in logs)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
