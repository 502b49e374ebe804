"""Exact, preemption-safe training with tools/train.py (docs/en/advanced_guides/
resume.md), with the demo config's dropout and random augmentation on: a
run stopped by SIGTERM, killed while writing a checkpoint, and SIGKILLed after
a checkpoint, each time continued with --resume, computes every iteration's
loss and ends with weights, optimizer, schedulers and random number state
bit-identical to an uninterrupted run. CPU, OMP_NUM_THREADS=1,
num_workers=0 unless stated."""

import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers.demo_data import synthetic_data
from tests.helpers.resume import (
    assert_tensors_equal,
    free_port,
    loss_records,
    write_cls_config,
    write_config,
)
from tests.helpers.seg import ROOT

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

ENV = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
ITERS = 6  # checkpoints (keeping 1) and validation every 2 iterations


def train(config, work_dir, *extra):
    return subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir, *extra],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        start_new_session=True,
    )  # its own process group


def ok(out):
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def last_checkpoint(work_dir):
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return osp.basename(f.read().strip())


def assert_same_run(reference, resumed, ranks=(0,), final=f'iter_{ITERS}.pth', iters=ITERS):
    """Every iteration any run in ``resumed`` computed has the loss of the
    same iteration in ``reference``, and the final checkpoints hold
    bit-identical tensors."""
    for rank in ranks:
        expected = dict(loss_records(reference, rank))
        assert sorted(expected) == list(range(1, iters + 1))
        records = loss_records(resumed, rank)
        assert {i for i, _ in records} == set(expected)
        assert [(i, expected[i]) for i, _ in records] == records, f'rank {rank}'
    ref, res = (torch.load(osp.join(d, final), map_location='cpu') for d in (reference, resumed))
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_state'):
        assert_tensors_equal(ref[key], res[key], key)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return synthetic_data.make_voc(
        str(tmp_path_factory.mktemp('data')), num_train=4, num_val=2, size=64, num_classes=6
    )


@pytest.fixture(scope='module')
def reference(tmp_path_factory, data_root):
    """One uninterrupted single-process run."""
    work = str(tmp_path_factory.mktemp('reference'))
    ok(train(write_config(osp.join(work, 'cfg.py'), data_root, work, iters=ITERS), work))
    return work


@pytest.fixture(scope='module')
def interrupted(tmp_path_factory, data_root):
    """One run interrupted three times: SIGTERM during iteration 3; resumed
    and SIGKILLed while writing the checkpoint of iteration 4; resumed and
    SIGKILLed at the start of iteration 5 (after the iteration-4 checkpoint);
    resumed to the end. Returns the work dir and, per run, its process result
    and the files it left."""
    work = str(tmp_path_factory.mktemp('interrupted'))
    stops = [
        dict(type='SendSignalHook', signal='SIGTERM', at_iter=3),
        dict(type='KillDuringSaveHook', at_iter=4),
        dict(type='SendSignalHook', signal='SIGKILL', at_iter=5),
        None,
    ]
    runs = []
    for i, stop in enumerate(stops):
        config = write_config(
            osp.join(work, f'cfg{i}.py'), data_root, work, iters=ITERS, hooks=[stop] if stop else []
        )
        out = train(config, work, *(['--resume'] if i else []))
        runs.append((out, sorted(os.listdir(work)), last_checkpoint(work)))
    return work, runs


def test_sigterm_saves_the_running_iteration_and_exits_0(interrupted):
    work, runs = interrupted
    out, files, last = runs[0]
    log = ok(out)
    assert 'SIGTERM received: saved' in log and 'iter_3.pth at iteration 3' in log
    assert last == 'iter_3.pth'
    # max_keep_ckpts=1: iter_2.pth was removed once iter_3.pth was complete
    assert [f for f in files if f.endswith('.pth')] == ['iter_3.pth']


def test_kill_while_writing_a_checkpoint_keeps_the_previous_one(interrupted):
    work, runs = interrupted
    out, files, last = runs[1]
    assert 'resumed epoch: 0, iter: 3' in out.stdout + out.stderr
    assert out.returncode == -9
    # the write of iter_4.pth was cut short under a temporary name; iter_3.pth
    # is intact (mmengine removes the kept checkpoint before writing a new one)
    assert [f for f in files if f.endswith('.pth')] == ['iter_3.pth']
    assert [f for f in files if f.startswith('iter_4.pth.') and f.endswith('.tmp')]
    assert last == 'iter_3.pth'


def test_sigkill_after_a_checkpoint_resumes_from_it(interrupted):
    work, runs = interrupted
    out, files, last = runs[2]
    assert 'resumed epoch: 0, iter: 3' in out.stdout + out.stderr
    assert out.returncode == -9 and last == 'iter_4.pth'
    assert 'resumed epoch: 0, iter: 4' in ok(runs[3][0])


@pytest.mark.compat
def test_resumed_runs_equal_the_uninterrupted_run(reference, interrupted):
    assert_same_run(reference, interrupted[0])


def test_truncated_checkpoint_given_explicitly_is_named_in_the_error(reference, tmp_path):
    src = osp.join(reference, f'iter_{ITERS}.pth')
    bad = str(tmp_path / 'truncated.pth')
    with open(src, 'rb') as f, open(bad, 'wb') as g:
        g.write(f.read()[: osp.getsize(src) // 2])
    out = train(osp.join(reference, 'cfg.py'), str(tmp_path / 'work'), '--resume', bad)
    assert out.returncode != 0
    assert f'CorruptCheckpointError: {bad} is truncated or corrupt' in out.stderr


def test_two_processes_signal_on_one_rank_then_sigkill_resume_is_bit_identical(data_root, tmp_path):
    """gloo, 2 processes with 2 DataLoader workers each (their random state
    is not saved: mmengine seeds them per rank and worker, and the skipped
    batches advance them): SIGUSR1 reaching rank 1 and its workers only (each
    rank has its own process group under torchrun) stops both ranks at that
    iteration and --requeue requeues the Slurm job; a later SIGKILL of rank 0;
    the resumed run equals an uninterrupted 2-process run."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    calls = tmp_path / 'scontrol_calls'
    (bin_dir / 'scontrol').write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (bin_dir / 'scontrol').chmod(0o755)
    env = dict(ENV, PYTHON=sys.executable, PATH=f'{bin_dir}:{ENV["PATH"]}', SLURM_JOB_ID='4242')

    def run(name, *extra, stop=None):
        work = str(tmp_path / name)
        os.makedirs(work, exist_ok=True)
        config = write_config(
            osp.join(work, 'cfg.py'),
            data_root,
            work,
            iters=ITERS,
            num_workers=2,
            hooks=[stop] if stop else [],
        )
        return work, subprocess.run(
            ['bash', 'tools/dist_train.sh', config, '2', '--work-dir', work, *extra],
            cwd=ROOT,
            env=dict(env, PORT=str(free_port())),
            capture_output=True,
            text=True,
        )

    reference, out = run('reference')
    ok(out)
    work, out = run(
        'work',
        '--requeue',
        stop=dict(type='SendSignalHook', signal='SIGUSR1', at_iter=3, rank=1, group=True),
    )
    log = ok(out)
    assert 'SIGUSR1 received: saved' in log and 'gloo' in log
    assert last_checkpoint(work) == 'iter_3.pth'
    assert [sorted(i for i, _ in loss_records(work, r)) for r in (0, 1)] == [[1, 2, 3]] * 2
    assert calls.read_text() == 'requeue 4242\n'
    _, out = run(
        'work', '--resume', stop=dict(type='SendSignalHook', signal='SIGKILL', at_iter=6, rank=0)
    )
    assert out.returncode != 0 and last_checkpoint(work) == 'iter_4.pth'
    _, out = run('work', '--resume')
    assert 'resumed epoch: 0, iter: 4' in ok(out)
    assert_same_run(reference, work, ranks=(0, 1))


def test_epoch_based_loop_sigterm_mid_epoch_resume_is_bit_identical(tmp_path):
    """A classification config (EpochBasedTrainLoop, dropout, random crop and
    flip, validation every epoch) with 2 persistent DataLoader workers:
    SIGTERM to every process (workers included, as Slurm sends it) in the
    middle of epoch 1 saves iter_3.pth and exits 0; the resumed run skips the
    epoch's first 3 batches (mmengine would start the epoch over) and ends
    equal to an uninterrupted run."""
    data_root = str(tmp_path / 'data')
    synthetic_data.make_cifar(data_root, num_classes=10)
    works = {}
    for name in ('reference', 'work'):
        works[name] = str(tmp_path / name)
        os.makedirs(works[name])
    ok(
        train(
            write_cls_config(
                osp.join(works['reference'], 'cfg.py'), data_root, works['reference'], num_workers=2
            ),
            works['reference'],
        )
    )
    work = works['work']
    log = ok(
        train(
            write_cls_config(
                osp.join(work, 'stop.py'),
                data_root,
                work,
                hooks=[dict(type='SendSignalHook', signal='SIGTERM', at_iter=3, group=True)],
                num_workers=2,
            ),
            work,
        )
    )
    assert 'iter_3.pth at iteration 3 (epoch 1)' in log
    log = ok(
        train(
            write_cls_config(osp.join(work, 'cfg.py'), data_root, work, num_workers=2),
            work,
            '--resume',
        )
    )
    assert 'resumed epoch: 0, iter: 3' in log
    assert 'Advance dataloader 3 steps' in log
    assert_same_run(works['reference'], work, final='epoch_2.pth', iters=10)
