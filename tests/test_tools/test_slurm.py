"""tools/slurm_train.sh and tools/slurm_test.sh against a real Slurm
(tests/helpers/slurm.py: munged, slurmctld and two slurmd on this host, CPU
nodes): 1 and 2 tasks, on one node and on two, train bit-identically to
torchrun's 1 and 2 processes, and test on two nodes prints one process's
metrics; a batch job requeued by ``scontrol requeue``, one signalled by
``scancel --signal=TERM`` and one reaching its time limit (``REQUEUE=1``:
SIGUSR1 from the script) save, are requeued, resume and end bit-identical to
an uninterrupted run. Also (without Slurm) SIGTERM to tools/dist_train.sh
reaching torchrun's workers. The demo config at tiny width (dropout, random
augmentation), OMP_NUM_THREADS=1. The Slurm tests are skipped, with the
reason, where Slurm and munge cannot be installed."""

import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from tests.helpers.demo_data import synthetic_data
from tests.helpers.resume import assert_tensors_equal, free_port, loss_records, write_config
from tests.helpers.seg import ROOT
from tests.helpers.slurm import LocalSlurm, ensure_installed

pytestmark = pytest.mark.slow  # subprocesses: tools/*.py run as the user runs them

ITERS = 6
FINAL = f'iter_{ITERS}.pth'


@pytest.fixture(scope='module')
def slurm(tmp_path_factory):
    reason = ensure_installed()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp('slurm')
    cluster = LocalSlurm(str(root), nodes=('n1', 'n2'))
    try:
        cluster.start()
    except RuntimeError as e:
        cluster.stop()
        pytest.skip(f'a local Slurm with two slurmd did not start: {str(e)[:3000]}')
    yield cluster
    cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    return synthetic_data.make_voc(
        str(tmp_path_factory.mktemp('data')), num_train=4, num_val=2, size=64, num_classes=6
    )


def env(slurm=None, **extra):
    return dict(
        slurm.env if slurm else os.environ,
        PYTHONWARNINGS='ignore',
        OMP_NUM_THREADS='1',
        PYTHON=sys.executable,
        PYTHONPATH=ROOT,
        MASTER_PORT=str(free_port()),
        PORT=str(free_port()),
        GPUS_PER_NODE='0',
        CPUS_PER_TASK='1',
        **extra,
    )


def ok(out):
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout + out.stderr


def config(work, data_root, hooks=()):
    os.makedirs(work, exist_ok=True)
    return write_config(osp.join(work, 'cfg.py'), data_root, work, iters=ITERS, hooks=hooks)


@pytest.fixture(scope='module')
def torchrun(tmp_path_factory, data_root):
    """Uninterrupted torchrun runs (tools/dist_train.sh) of 1 and 2 processes."""
    works = {}
    for n in (1, 2):
        work = str(tmp_path_factory.mktemp(f'torchrun{n}'))
        ok(
            subprocess.run(
                [
                    'bash',
                    'tools/dist_train.sh',
                    config(work, data_root),
                    str(n),
                    '--work-dir',
                    work,
                ],
                cwd=ROOT,
                env=env(),
                capture_output=True,
                text=True,
            )
        )
        works[n] = work
    return works


def assert_same_run(reference, run, ranks):
    for rank in ranks:
        expected = dict(loss_records(reference, rank))
        records = loss_records(run, rank)
        assert {i for i, _ in records} == set(range(1, ITERS + 1))
        assert [(i, expected[i]) for i, _ in records] == records, f'rank {rank}'
    ref, res = (torch.load(osp.join(d, FINAL), map_location='cpu') for d in (reference, run))
    for key in ('state_dict', 'optimizer', 'param_schedulers', 'rng_state'):
        assert_tensors_equal(ref[key], res[key], key)


@pytest.mark.parametrize(
    'tasks,per_node', [(1, None), (2, None), (2, 1)], ids=['1task', '2tasks', '2nodes']
)
def test_srun_equals_torchrun(slurm, torchrun, data_root, tmp_path, tasks, per_node):
    work = str(tmp_path)
    extra = dict(TASKS=str(tasks), **({'TASKS_PER_NODE': str(per_node)} if per_node else {}))
    out = slurm.run(
        'bash',
        'tools/slurm_train.sh',
        'debug',
        'wrn',
        config(work, data_root),
        work,
        cwd=ROOT,
        env=env(slurm, **extra),
        check=False,
    )
    log = ok(out)
    assert '--gres' not in log
    if tasks == 2:
        assert 'using the gloo backend instead of nccl' in log
    assert_same_run(torchrun[tasks], work, range(tasks))


def logged_test_metrics(log):
    """The test metrics line mmengine logs: {'aAcc': ..., 'mIoU': ..., 'mAcc': ...}."""
    (line,) = re.findall(r'Iter\(test\) \[\d+/\d+\] +(aAcc: .*)', log)
    return dict(re.findall(r'(aAcc|mIoU|mAcc): ([\d.]+)', line))


def test_slurm_test_on_two_nodes_equals_one_process(slurm, torchrun, data_root, tmp_path):
    """tools/slurm_test.sh, one task on each of two nodes, prints the metrics
    tools/test.py prints in one process for the same checkpoint."""
    cfg = config(str(tmp_path), data_root)
    checkpoint = osp.join(torchrun[1], FINAL)
    single = ok(
        subprocess.run(
            [sys.executable, 'tools/test.py', cfg, checkpoint, '--work-dir', str(tmp_path / 'one')],
            cwd=ROOT,
            env=env(),
            capture_output=True,
            text=True,
        )
    )
    out = slurm.run(
        'bash',
        'tools/slurm_test.sh',
        'debug',
        'wrn',
        cfg,
        checkpoint,
        '--work-dir',
        str(tmp_path / 'two'),
        cwd=ROOT,
        env=env(slurm, TASKS='2', TASKS_PER_NODE='1'),
        check=False,
    )
    log = ok(out)
    assert '--ntasks-per-node=1' in log and '--gres' not in log
    assert 'using the gloo backend instead of nccl' in log
    assert logged_test_metrics(log) == logged_test_metrics(single)
    assert float(logged_test_metrics(log)['aAcc']) > 0


def sbatch(slurm, work, data_root, *args, hooks=(), tasks=1, signal_time=None):
    extra = dict(TASKS=str(tasks), REQUEUE='1')
    if signal_time:
        extra['REQUEUE_SIGNAL_TIME'] = str(signal_time)
    cfg = config(work, data_root, hooks=hooks)
    out = slurm.run(
        'sbatch',
        '--parsable',
        '-p',
        'debug',
        f'--ntasks={tasks}',
        '--cpus-per-task=1',
        '--requeue',
        '--open-mode=append',
        f'--output={work}/slurm-%j.out',
        *args,
        '--wrap',
        f'bash tools/slurm_train.sh debug wrn {cfg} {work}',
        cwd=ROOT,
        env=env(slurm, **extra),
    )
    return out.stdout.strip().split(';')[0]


def wait_file(path, job, slurm, timeout=240):
    deadline = time.time() + timeout
    while not osp.exists(path):
        assert time.time() < deadline, (
            f'{path} not written in {timeout} s: {slurm.job(job)}{slurm.logs()}'
        )
        time.sleep(0.5)


def job_log(work):
    return ''.join(
        open(osp.join(work, f)).read() for f in sorted(os.listdir(work)) if f.startswith('slurm-')
    )


WAIT = dict(type='WaitForSignalHook', at_iter=3)


def test_sigterm_to_torchrun_reaches_the_workers(torchrun, data_root, tmp_path):
    """SIGTERM to tools/dist_train.sh's process (torchrun, exec'd) during
    iteration 3 of 2 processes: both save iter_3.pth and stop; --resume ends
    bit-identical to the uninterrupted run. (No Slurm needed.)"""
    work = str(tmp_path)
    proc = subprocess.Popen(
        ['bash', 'tools/dist_train.sh', config(work, data_root, [WAIT]), '2', '--work-dir', work],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 240
        while not all(osp.exists(osp.join(work, f'waiting_rank{r}')) for r in (0, 1)):
            assert proc.poll() is None and time.time() < deadline, proc.communicate()[0][-3000:]
            time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        log = proc.communicate(timeout=120)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert log.count('SIGTERM received: saved') == 1, log[-3000:]  # rank 0 logs
    assert 'iter_3.pth at iteration 3' in log
    assert not osp.exists(osp.join(work, 'iter_4.pth'))
    assert sorted(i for i, _ in loss_records(work, 1)) == [1, 2, 3]
    for name in ('waiting_rank0', 'waiting_rank1'):
        os.remove(osp.join(work, name))
    ok(
        subprocess.run(
            [
                'bash',
                'tools/dist_train.sh',
                config(work, data_root),
                '2',
                '--work-dir',
                work,
                '--resume',
            ],
            cwd=ROOT,
            env=env(),
            capture_output=True,
            text=True,
        )
    )
    assert_same_run(torchrun[2], work, (0, 1))


@pytest.mark.parametrize('how', ['scontrol_requeue', 'scancel_term'])
def test_sigterm_requeue_resumes_bit_identical(slurm, torchrun, data_root, tmp_path, how):
    """``scontrol requeue`` (Slurm requeues) and ``scancel --signal=TERM``
    (the job requeues itself) during iteration 3 of 2 tasks."""
    work = str(tmp_path)
    job = sbatch(slurm, work, data_root, hooks=[WAIT], tasks=2)
    wait_file(osp.join(work, 'waiting_rank1'), job, slurm)
    start = time.time()
    if how == 'scontrol_requeue':
        slurm.run('scontrol', 'requeue', job)
    else:
        slurm.run('scancel', '--signal=TERM', job)
    info = slurm.wait(job)
    log = job_log(work)
    assert info['JobState'] == 'COMPLETED' and info['Restarts'] == '1', f'{info}\n{log}'
    assert 'SIGTERM received: saved' in log and 'iter_3.pth at iteration 3' in log
    assert 'resumed epoch: 0, iter: 3' in log
    print(f'{how}: requeued and finished in {time.time() - start:.0f} s')
    assert_same_run(torchrun[2], work, (0, 1))


def test_time_limit_signal_saves_and_requeues(slurm, torchrun, data_root, tmp_path):
    """--time=2 with REQUEUE_SIGNAL_TIME=60: SIGUSR1 arrives while the first
    run waits in iteration 3; it saves, rank 0 requeues the job, which
    resumes and ends bit-identical."""
    work = str(tmp_path)
    job = sbatch(slurm, work, data_root, '--time=2', hooks=[WAIT], signal_time=60)
    info = slurm.wait(job, timeout=400)
    log = job_log(work)
    assert info['JobState'] == 'COMPLETED' and info['Restarts'] == '1', f'{info}\n{log}'
    assert 'SIGUSR1 received: saved' in log and 'iter_3.pth at iteration 3' in log
    assert f'requeued Slurm job {job}' in log and 'resumed epoch: 0, iter: 3' in log
    assert_same_run(torchrun[1], work, (0,))
