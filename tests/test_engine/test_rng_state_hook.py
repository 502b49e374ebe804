"""RNGStateHook's state capture (the end-to-end resume tests are in
tests/test_tools/test_resume_preemption.py)."""
import random

import numpy as np
import pytest
import torch

import mmwrn  # noqa: F401
from mmwrn.checkpoint import safe_load
from mmwrn.engine import RNGStateHook, get_rng_state, set_rng_state


def draws():
    return (random.random(), np.random.randn(3).tolist(), torch.rand(3).tolist(),
            torch.nn.functional.dropout(torch.ones(16), 0.5).tolist())


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
