from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .label_range_hook import LabelRangeError, LabelRangeHook
from .preemption_hook import PreemptionHook, TrainingPreempted
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state

__all__ = [
    'RNGStateHook',
    'PreemptionHook',
    'TrainingPreempted',
    'get_rng_state',
    'set_rng_state',
    'FiniteLossHook',
    'NonFiniteLossError',
    'LabelRangeHook',
    'LabelRangeError',
]
