"""tools/train.py's resume helpers: hooks added to a config, the checkpoint
`--resume` picks, the Slurm requeue decision."""

import os
import signal
import time

import pytest
from mmengine.config import Config

from mmwrn.engine import (
    RNGStateHook,
    TrainingPreempted,
    add_resume_hooks,
    find_resume_checkpoint,
    requeue_slurm_job,
)


@pytest.mark.parametrize(
    'existing',
    [
        None,
        [],
        [dict(type='EMAHook')],
        [dict(type='RNGStateHook')],
        [RNGStateHook()],
        [dict(type=RNGStateHook)],
        [dict(type='mmwrn.PreemptionHook', signals=['SIGINT'])],
    ],
)
def test_hooks_added_once(existing):
    cfg = Config(dict(custom_hooks=existing))
    hooks = add_resume_hooks(cfg).custom_hooks
    kinds = [h['type'] if isinstance(h, dict) else type(h) for h in hooks]
    names = [k.split('.')[-1] if isinstance(k, str) else k.__name__ for k in kinds]
    assert sorted(n for n in names if n != 'EMAHook') == ['PreemptionHook', 'RNGStateHook']
    assert hooks[: len(existing or [])] == (existing or []), "the config's hooks kept"


def test_resume_checkpoint(tmp_path):
    work = str(tmp_path)
    assert find_resume_checkpoint(work) is None  # no last_checkpoint: from scratch
    for name in ('iter_2.pth', 'iter_4.pth', 'best_mIoU_iter_4.pth'):
        (tmp_path / name).write_bytes(b'x')
        time.sleep(0.01)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert find_resume_checkpoint(work) == str(tmp_path / 'iter_2.pth')
    # an empty or dangling last_checkpoint: the newest regular checkpoint
    for content in ('', str(tmp_path / 'iter_6.pth')):
        (tmp_path / 'last_checkpoint').write_text(content)
        assert find_resume_checkpoint(work) == str(tmp_path / 'iter_4.pth')
    for name in ('iter_2.pth', 'iter_4.pth'):
        os.remove(tmp_path / name)
    with pytest.raises(FileNotFoundError, match='iter_6.pth.*has no other checkpoint'):
        find_resume_checkpoint(work)


def test_requeue_without_a_slurm_job(monkeypatch):
    monkeypatch.delenv('SLURM_JOB_ID', raising=False)
    assert requeue_slurm_job(TrainingPreempted(signal.SIGTERM, 'x.pth'))  # not due
    assert not requeue_slurm_job(TrainingPreempted(signal.SIGUSR1, 'x.pth'))  # no job id
    stopped = TrainingPreempted(signal.SIGUSR1, 'x.pth')
    assert isinstance(stopped, SystemExit) and stopped.code == 0
