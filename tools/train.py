"""Train a segmentor (mmseg config) or a classifier (mmpretrain config) with
mmwrn's models. The flags are mmseg's and mmpretrain's train.py flags, plus
--requeue.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--no-validate] [--requeue] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

Every run is exact and preemptible (docs/en/advanced_guides/resume.md): the
config gets mmwrn's RNGStateHook and PreemptionHook unless it has them, so
checkpoints carry the random number state and SIGTERM / SIGUSR1 save a
checkpoint at the current iteration and stop with exit status 0.

The shipped configs stop training with a clear error (exit status 1, no
traceback) at a NaN/inf loss or weight, before that iteration's checkpoint is
written (mmwrn.FiniteLossHook), and on label values outside the classes
(mmwrn.LabelRangeHook); see configs/_base_/guards.py.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

from mmengine.config import Config  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmwrn.enable_host_mends  # noqa: E402,F401  (registers mmwrn; every host mend on)
from mmwrn.cli.launch import (  # noqa: E402
    add_launch_args,
    finish_distributed,
    init_cpu_distributed,
    parse_launch_args,
    setup_cfg,
)
from mmwrn.engine import (  # noqa: E402
    LabelRangeError,
    NonFiniteLossError,
    TrainingPreempted,
    add_resume_hooks,
    find_resume_checkpoint,
    requeue_slurm_job,
)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT; without a value, from the latest checkpoint '
        'in the work dir (from scratch when there is none)',
    )
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision training'
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help="scale the lr with the total batch size (the config's auto_scale_lr.base_batch_size)",
    )
    parser.add_argument(
        '--no-validate', action='store_true', help='do not validate during training'
    )
    parser.add_argument(
        '--requeue',
        action='store_true',
        help='when SIGUSR1 (sent before the time limit) stops training, or SIGTERM '
        'while the job is still RUNNING (scancel --signal=TERM), requeue this Slurm '
        'batch job (scontrol requeue $SLURM_JOB_ID); use with --resume',
    )
    add_launch_args(parser)
    return parse_launch_args(parser)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg = setup_cfg(cfg, args, mode='train')
    add_resume_hooks(cfg)
    if args.resume == 'auto':
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)
    init_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    try:
        runner.train()
    except TrainingPreempted as stopped:
        # rank 0 requeues while the process group still tells the ranks apart
        try:
            requeued = not args.requeue or requeue_slurm_job(stopped)
        finally:
            finish_distributed()
        if not requeued:
            sys.exit(1)
        raise
    except (NonFiniteLossError, LabelRangeError) as e:
        finish_distributed(barrier=False)
        sys.exit(f'error: {e}')
    finish_distributed()


if __name__ == '__main__':
    main()
