"""What tools/train.py does for exact, preemptible training runs: add the
hooks to a config, find the checkpoint ``--resume`` continues from, requeue
a Slurm job stopped before its time limit."""

import glob
import logging
import os
import os.path as osp
import signal
import subprocess

from mmengine.dist import is_main_process
from mmengine.logging import print_log

RESUME_HOOKS = ('RNGStateHook', 'PreemptionHook')


def add_resume_hooks(cfg):
    """Append ``mmwrn.RNGStateHook`` and ``mmwrn.PreemptionHook`` to
    ``cfg.custom_hooks`` unless the config has them (by either name)."""
    hooks = list(cfg.get('custom_hooks') or [])

    def name(hook):  # a config dict (type: name or class) or a built hook
        kind = hook.get('type', '') if isinstance(hook, dict) else type(hook)
        return kind.split('.')[-1] if isinstance(kind, str) else kind.__name__

    present = {name(h) for h in hooks}
    for name in RESUME_HOOKS:
        if name not in present:
            hooks.append(dict(type=f'mmwrn.{name}'))
    cfg.custom_hooks = hooks
    return cfg


def find_resume_checkpoint(work_dir):
    """The checkpoint ``--resume`` (without a file) continues from: the one
    ``work_dir/last_checkpoint`` names, as in mmengine. Should that file be
    empty, or name a local file that no longer exists, the newest checkpoint
    in ``work_dir`` (``best_*`` excluded) is used with a warning. None when
    there is no ``last_checkpoint`` (training starts from scratch)."""
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        named = f.read().strip()
    if named and ('://' in named or osp.isfile(named)):
        return named
    candidates = [
        p for p in glob.glob(osp.join(work_dir, '*.pth')) if not osp.basename(p).startswith('best_')
    ]
    if not candidates:
        raise FileNotFoundError(
            f'{pointer} names {named!r}, which does not exist, and {work_dir} has no '
            'other checkpoint: start without --resume or pass a checkpoint file'
        )
    newest = max(candidates, key=osp.getmtime)
    print_log(
        f'{pointer} names {named!r}, which does not exist: resuming from the '
        f'newest checkpoint in the work dir, {newest}',
        logger='current',
        level=logging.WARNING,
    )
    return newest


def requeue_slurm_job(stopped):
    """After training stopped on a signal, requeue the Slurm batch job (rank 0
    runs ``scontrol requeue $SLURM_JOB_ID``); the requeued job resumes with
    ``--resume``. Requeued: after SIGUSR1 (before the time limit, from
    tools/slurm_train.sh's ``REQUEUE=1`` or Slurm's ``--signal=USR1@T``), and after
    SIGTERM when the job is still RUNNING (a signal only, ``scancel --signal=TERM``).
    After a SIGTERM of ``scontrol requeue`` or preemption (Slurm requeues the job
    itself) or of ``scancel`` (cancelled), the job is no longer RUNNING: no requeue.

    Args:
        stopped (TrainingPreempted): the exception that stopped training.

    Returns:
        bool: False when a requeue was due and failed.
    """
    if stopped.signal not in (signal.SIGUSR1, signal.SIGTERM) or not is_main_process():
        return True
    job = os.environ.get('SLURM_JOB_ID')
    if not job:
        if stopped.signal == signal.SIGTERM:
            return True
        print_log(
            '--requeue: SLURM_JOB_ID is not set (not a Slurm job): not requeued',
            logger='current',
            level=logging.ERROR,
        )
        return False
    try:
        if stopped.signal == signal.SIGTERM:
            state = _job_state(job)
            if state != 'RUNNING':
                print_log(
                    f'--requeue: SIGTERM and Slurm job {job} is {state}: left to Slurm',
                    logger='current',
                )
                return True
        out = subprocess.run(['scontrol', 'requeue', job], capture_output=True, text=True)
    except FileNotFoundError:
        print_log(
            '--requeue: scontrol is not on PATH: not requeued',
            logger='current',
            level=logging.ERROR,
        )
        return False
    if out.returncode:
        print_log(
            f'--requeue: `scontrol requeue {job}` failed ({out.returncode}): {out.stderr.strip()}',
            logger='current',
            level=logging.ERROR,
        )
        return False
    print_log(f'requeued Slurm job {job}; it resumes from {stopped.checkpoint}', logger='current')
    return True


def _job_state(job):
    """The JobState ``scontrol show job`` reports (e.g. RUNNING, REQUEUED,
    CANCELLED), '' when it cannot be read."""
    out = subprocess.run(
        ['scontrol', 'show', 'job', '-o', job], capture_output=True, text=True
    ).stdout
    states = [kv.split('=', 1)[1] for kv in out.split() if kv.startswith('JobState=')]
    return states[0] if states else ''
