"""RNGStateHook's state capture (the end-to-end resume tests are in
tests/test_tools/test_resume_preemption.py)."""

import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import mmwrn  # noqa: F401
from mmwrn.checkpoint import safe_load
from mmwrn.engine import RNGStateHook, get_rng_state, set_rng_state


def draws():
    return (
        random.random(),
        np.random.randn(3).tolist(),
        torch.rand(3).tolist(),
        torch.nn.functional.dropout(torch.ones(16), 0.5).tolist(),
    )


def test_state_round_trip_through_a_weights_only_checkpoint(tmp_path):
    random.seed(1)
    np.random.seed(2)
    torch.manual_seed(3)
    np.random.randn()  # numpy now caches a Gaussian: part of the state
    torch.save(dict(rng_state=get_rng_state()), tmp_path / 'state.pth')
    expected = draws()
    random.seed(9)
    np.random.seed(9)
    torch.manual_seed(9)
    assert draws() != expected
    assert set_rng_state(safe_load(str(tmp_path / 'state.pth'))['rng_state']) is None
    assert draws() == expected


@pytest.mark.parametrize('scope', ['mmseg', 'mmpretrain'])
@pytest.mark.parametrize('name', ['RNGStateHook', 'mmwrn.RNGStateHook'])
def test_builds_in_each_host_scope(scope, name):
    registry = __import__(f'{scope}.registry', fromlist=['HOOKS']).HOOKS
    assert type(registry.build(dict(type=name))) is RNGStateHook


@pytest.mark.parametrize(
    'saved,runner_iter,warning',
    [
        (None, 4, 'has no random number state'),
        (dict(world_size=2, states=[None, None]), 4, 'written by 2 processes and this run has 1'),
        (None, 0, None),  # load_from (no resume): nothing to restore, no warning
    ],
)
def test_resume_without_a_usable_state_warns_once(monkeypatch, saved, runner_iter, warning):
    logged = []
    monkeypatch.setattr(
        'mmwrn.engine.hooks.rng_state_hook.print_log', lambda msg, **kw: logged.append(msg)
    )
    hook = RNGStateHook()
    checkpoint = dict(meta=dict(iter=4 if runner_iter else 100))
    if saved is not None:
        checkpoint['rng_state'] = saved
    hook.after_load_checkpoint(None, checkpoint)
    loop = SimpleNamespace(dataloader_iterator='untouched')
    hook.before_train(SimpleNamespace(iter=runner_iter, train_loop=loop))
    assert loop.dataloader_iterator == 'untouched'
    assert len(logged) == (1 if warning else 0)
    if warning:
        assert warning in logged[0] and 'differ from an uninterrupted run' in logged[0]
