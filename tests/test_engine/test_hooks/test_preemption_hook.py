"""PreemptionHook's signal handling outside training and its arguments (the
end-to-end preemption tests are in tests/test_tools/test_resume_preemption.py)."""

import os
import signal

import pytest

import mmwrn  # noqa: F401
from mmwrn.engine import PreemptionHook


def test_unknown_signal_is_refused_with_the_valid_names():
    with pytest.raises(
        ValueError,
        match=r"unknown or uncatchable signals \['SIGKILL'\]; "
        r"valid: \[.*'SIGTERM'",
    ):
        PreemptionHook(signals=('SIGTERM', 'SIGKILL'))


def test_outside_training_a_signal_reaches_the_previous_handler():
    received = []
    before = signal.signal(signal.SIGUSR2, lambda signum, frame: received.append(signum))
    try:
        hook = PreemptionHook(signals=('SIGUSR2',))
        assert signal.getsignal(signal.SIGUSR2) == hook._handle
        os.kill(os.getpid(), signal.SIGUSR2)
        assert received == [signal.SIGUSR2]
        hook.after_run(runner=None)  # restores the previous handler
        os.kill(os.getpid(), signal.SIGUSR2)
        assert received == [signal.SIGUSR2] * 2
        assert signal.getsignal(signal.SIGUSR2) != hook._handle
    finally:
        signal.signal(signal.SIGUSR2, before)


@pytest.mark.parametrize('scope', ['mmseg', 'mmpretrain'])
@pytest.mark.parametrize('name', ['PreemptionHook', 'mmwrn.PreemptionHook'])
def test_builds_in_each_host_scope(scope, name):
    registry = __import__(f'{scope}.registry', fromlist=['HOOKS']).HOOKS
    hook = registry.build(dict(type=name, signals=['SIGUSR2']))
    try:
        assert type(hook) is PreemptionHook and hook.signals == (signal.SIGUSR2,)
    finally:
        hook.after_run(runner=None)
