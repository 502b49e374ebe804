"""Test-only hooks for the resume and preemption tests (imported by the
training subprocesses through ``custom_imports``), and the helpers that write
their configs and compare their results."""

import json
import os
import os.path as osp
import signal
import socket
import subprocess

import torch
from mmengine.config import Config
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from tests.helpers.seg import ROOT

DEMO = osp.join(
    ROOT, 'configs', 'demo', 'twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96.py'
)


@HOOKS.register_module()
class IterLossRecorderHook(Hook):
    """Appends ``{"iter": n, "loss": float}`` to ``out_dir/losses_rank{r}.jsonl``
    after every iteration (flushed, so a killed run keeps its lines)."""

    def __init__(self, out_dir):
        self.out_dir = out_dir

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        path = osp.join(self.out_dir, f'losses_rank{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter + 1, loss=float(outputs['loss']))) + '\n')


@HOOKS.register_module()
class SendSignalHook(Hook):
    """Sends ``signal`` to this process at the start of iteration ``at_iter``
    (1-based), on ``rank`` only when given; with ``group=True`` to every
    process of its process group (DataLoader workers included) from another
    process (``kill``), as Slurm signals every process of a job step."""

    def __init__(self, signal, at_iter, rank=None, group=False):
        self.signal, self.at_iter, self.rank, self.group = signal, at_iter, rank, group

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at_iter and self.rank in (None, get_rank()):
            signum = getattr(signal, self.signal)
            if self.group:
                subprocess.run(['kill', '-s', self.signal[3:], '--', f'-{os.getpgid(0)}'])
            else:
                os.kill(os.getpid(), signum)


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """Makes the process SIGKILL itself while it writes the checkpoint of
    iteration ``at_iter``: the temporary file is cut to half its size (a write
    in progress) and the process dies before renaming it."""

    def __init__(self, at_iter):
        self.at_iter = at_iter

    def before_save_checkpoint(self, runner, checkpoint):
        if checkpoint['meta']['iter'] != self.at_iter:
            return
        replace = os.replace

        def killed_while_writing(src, dst):
            if not str(src).endswith('.tmp'):
                return replace(src, dst)
            with open(src, 'r+b') as f:
                f.truncate(osp.getsize(src) // 2)
            os.kill(os.getpid(), signal.SIGKILL)

        os.replace = killed_while_writing


def write_config(path, data_root, out_dir, *, num_workers=0, iters=6, hooks=()):
    """The demo config (dropout 0.3 / 0.5 in B6 / B7, random resize, crop and
    flip, poly lr, checkpoints every 2 iterations keeping 1, validation every
    2) at tiny widths and 48-pixel crops of 64-pixel images, batch 2."""
    cfg = Config.fromfile(DEMO)
    cfg.custom_imports = dict(imports=['mmwrn', 'tests.helpers.resume'], allow_failed_imports=False)
    cfg.model.backbone.update(
        stem_channels=8,
        channels=((4, 4), (8, 8), (8, 8), (8, 16), (8, 16, 32), (16, 32, 64)),
        norm_cfg=dict(type='mmwrn.SyncBN', requires_grad=True),
    )
    assert cfg.model.backbone.drop_rates == (0, 0, 0, 0, 0.3, 0.5)
    cfg.model.decode_head.update(in_channels=64, channels=16)
    cfg.model.data_preprocessor.size = (48, 48)
    for ds in cfg.train_dataloader.dataset.datasets:
        ds.data_root = data_root
        for t in ds.pipeline:
            if t.type == 'RandomResize':
                t.scale = (64, 64)
            elif t.type == 'RandomCrop':
                t.crop_size = (48, 48)
    cfg.train_dataloader.update(
        batch_size=2, num_workers=num_workers, persistent_workers=num_workers > 0
    )
    cfg.val_dataloader.dataset.data_root = data_root
    cfg.val_dataloader.dataset.pipeline[1].scale = (64, 64)
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.update(max_iters=iters, val_interval=2)
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.checkpoint.update(interval=2, max_keep_ckpts=1)
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = [dict(type='IterLossRecorderHook', out_dir=out_dir), *hooks]
    cfg.dump(path)
    return path


def write_cls_config(path, data_root, out_dir, hooks=(), num_workers=0):
    """configs/wrn_cifar/wrn-28-10-d0.3 (dropout 0.3, random crop and flip;
    EpochBasedTrainLoop, checkpoint and validation every epoch) at width 1 on
    20 CIFAR images: 2 epochs of 5 iterations."""
    from tests.helpers.cls import tiny_cls_train_config

    cfg = Config.fromfile(
        tiny_cls_train_config(
            osp.join(ROOT, 'configs', 'wrn_cifar', 'wrn-28-10-d0.3_1xb128_cifar10.py'),
            data_root,
            osp.dirname(path),
            size=32,
        )
    )
    cfg.custom_imports.imports.append('tests.helpers.resume')
    cfg.train_dataloader.update(num_workers=num_workers, persistent_workers=num_workers > 0)
    cfg.custom_hooks = [dict(type='IterLossRecorderHook', out_dir=out_dir), *hooks]
    cfg.dump(path)
    return path


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def loss_records(work_dir, rank=0):
    """[(iteration, loss)] in the order IterLossRecorderHook wrote them (all
    runs in ``work_dir``; a resumed run repeats iterations a killed run had
    done after its last checkpoint)."""
    with open(osp.join(work_dir, f'losses_rank{rank}.jsonl')) as f:
        return [(r['iter'], r['loss']) for r in map(json.loads, f)]


def assert_tensors_equal(a, b, where='checkpoint'):
    """Every tensor in the nested ``a`` and ``b`` bit-identical (torch.equal),
    every other leaf equal."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), (
            f'{where} differs: max |diff| {(a.double() - b.double()).abs().max().item():.3g}'
        )
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), f'{where}: keys {sorted(a)} != {sorted(b)}'
        for k in a:
            assert_tensors_equal(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_tensors_equal(x, y, f'{where}[{i}]')
    else:
        assert a == b, f'{where}: {a!r} != {b!r}'


@HOOKS.register_module()
class WaitForSignalHook(Hook):
    """At the start of iteration ``at_iter`` of a Slurm job's first run
    (``SLURM_RESTART_COUNT`` unset or 0), waits up to ``timeout`` s until
    PreemptionHook has received a signal (sent from outside: scontrol requeue,
    scancel, a time limit), so that it stops at that iteration."""

    def __init__(self, at_iter, timeout=240):
        self.at_iter, self.timeout = at_iter, timeout

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        import time

        from mmwrn.engine.hooks.preemption_hook import PreemptionHook

        if runner.iter + 1 != self.at_iter or int(os.environ.get('SLURM_RESTART_COUNT', 0)):
            return
        hook = next(h for h in runner.hooks if isinstance(h, PreemptionHook))
        with open(osp.join(runner.work_dir, f'waiting_rank{get_rank()}'), 'w'):
            pass
        deadline = time.time() + self.timeout
        while not hook._requested and time.time() < deadline:
            time.sleep(0.2)
