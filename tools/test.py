"""Test (evaluate) a trained segmentor or classifier.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out PATH]
        [--show] [--show-dir DIR] [--wait-time S] [--tta]
        [--allow-partial-checkpoint] [--cfg-options k=v ...]
        [--launcher {none,pytorch,slurm,mpi}]

A checkpoint that does not match the model (missing or unexpected weights,
different shapes) stops the test with the first keys of each kind, before any
number is computed; --allow-partial-checkpoint evaluates it anyway (warning).
Label values outside the classes stop it too (mmwrn.LabelRangeHook in the
shipped configs).

--out: for segmentation a directory for the predicted label maps (mmseg);
for classification a pickle file of the predictions (mmpretrain). It may not be
the config, the checkpoint or a folder of the test dataset.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

from mmengine.config import Config  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import CheckpointLoader, Runner  # noqa: E402

import mmwrn.enable_host_mends  # noqa: E402,F401  (registers mmwrn; every host mend on)
from mmwrn.checkpoint import check_checkpoint_fits  # noqa: E402
from mmwrn.cli.errors import CHECKPOINT_TOOL_ERRORS  # noqa: E402
from mmwrn.cli.launch import (  # noqa: E402
    add_launch_args,
    finish_distributed,
    init_cpu_distributed,
    parse_launch_args,
    setup_cfg,
)
from mmwrn.engine import LabelRangeError  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='where to save the predictions')
    parser.add_argument('--show', action='store_true', help='show results')
    parser.add_argument('--show-dir', help='directory to save painted results')
    parser.add_argument('--wait-time', type=float, default=2, help='show interval (s)')
    parser.add_argument('--tta', action='store_true', help='test time augmentation')
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='evaluate a checkpoint that does not match the model (missing, unexpected or '
        'differently shaped weights keep their initialisation); default: refuse it',
    )
    add_launch_args(parser)
    return parse_launch_args(parser)


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    try:
        cfg = setup_cfg(cfg, args, mode='test')
        checkpoint = CheckpointLoader.load_checkpoint(args.checkpoint, map_location='cpu')
        init_cpu_distributed(cfg)
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
        check_checkpoint_fits(
            runner.model,
            checkpoint,
            args.checkpoint,
            args.allow_partial_checkpoint,
            flag='--allow-partial-checkpoint',
        )
        del checkpoint
        runner.test()
    except (*CHECKPOINT_TOOL_ERRORS, LabelRangeError) as e:
        finish_distributed(barrier=False)
        sys.exit(f'error: {e}')
    finish_distributed()


if __name__ == '__main__':
    main()
