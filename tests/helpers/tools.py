"""Running the tools as the user does (subprocesses from the repository root)
and reading what they log."""

import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

from tests.helpers.seg import ROOT

ENV = dict(os.environ, PYTHONWARNINGS='ignore')

# what a copy of the checkout leaves out: version control, environments, build and run outputs
NOT_COPIED = (
    '.git',
    '.venv*',
    'work_dirs',
    'data',
    'build',
    '*.egg-info',
    '__pycache__',
    '.pytest_cache',
    '.mim',
    'checkpoints',
)


def copy_checkout(dest):
    """The checkout's sources at ``dest``, for pip to build or install from
    (pip writes into the folder it installs from)."""
    shutil.copytree(ROOT, dest, ignore=shutil.ignore_patterns(*NOT_COPIED))
    return dest


def run_tool(*args, check=True):
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=ENV, capture_output=True, text=True)
    if check and out.returncode:
        raise AssertionError(f'{args} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}')
    return out


def scalars(work_dir):
    """mmengine's per-iteration json log of the latest run in work_dir."""
    path = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))[-1]
    with open(path) as f:
        return [json.loads(line) for line in f]
