from .preemption_hook import PreemptionHook, TrainingPreempted
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state

__all__ = ['RNGStateHook', 'PreemptionHook', 'TrainingPreempted', 'get_rng_state',
           'set_rng_state']
