"""A 2-process distributed run on CPU (torchrun via tools/dist_train.sh, gloo,
synchronised BN) gives the losses of one process with the same global batch."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import torch
from mmengine.config import Config

from mmwrn.models.utils import SyncBatchNorm
from mmwrn.utils import synthetic_data
from tests.seg_utils import ROOT

DEMO = osp.join(ROOT, 'configs', 'demo',
                'twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96.py')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def write_config(tmp, data_root, batch, out_dir):
    cfg = Config.fromfile(DEMO)
    cfg.custom_imports = dict(imports=['mmwrn', 'tests.dist_helpers'],
                              allow_failed_imports=False)
    cfg.model.backbone.update(norm_cfg=dict(type='mmwrn.SyncBN'), drop_rates=(0, ) * 6)
    # mmseg's CE averages over all pixels: the mean of the ranks' losses is then
    # the loss of the global batch (the bootstrapped CE selects per batch)
    cfg.model.decode_head.loss_decode = dict(type='CrossEntropyLoss', loss_weight=1.0)
    cfg.model.data_preprocessor.size = (64, 64)
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='Resize', scale=(64, 64), keep_ratio=False),
                dict(type='PackSegInputs')]
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


def test_two_process_syncbn_matches_single_process(tmp_path):
    data_root = synthetic_data.make_voc(str(tmp_path / 'data'), num_train=4, num_val=2,
                                        size=64, num_classes=6)
    env = dict(os.environ, PYTHONWARNINGS='ignore', PYTHON=sys.executable,
               PORT=str(free_port()), OMP_NUM_THREADS='1')
    single, multi = tmp_path / 'single', tmp_path / 'multi'
    single.mkdir(), multi.mkdir()
    subprocess.run([sys.executable, 'tools/train.py',
                    write_config(str(tmp_path), data_root, 4, str(single)),
                    '--work-dir', str(single), '--no-validate'],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    out = subprocess.run(['bash', 'tools/dist_train.sh',
                          write_config(str(tmp_path), data_root, 2, str(multi)), '2',
                          '--work-dir', str(multi), '--no-validate'],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 'gloo' in out.stdout + out.stderr
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
