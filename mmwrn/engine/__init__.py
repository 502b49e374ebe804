from .hooks import (
    FiniteLossHook,
    LabelRangeError,
    LabelRangeHook,
    NonFiniteLossError,
    PreemptionHook,
    RNGStateHook,
    TrainingPreempted,
    get_rng_state,
    set_rng_state,
)
from .resume import add_resume_hooks, find_resume_checkpoint, requeue_slurm_job

__all__ = [
    'RNGStateHook',
    'PreemptionHook',
    'TrainingPreempted',
    'get_rng_state',
    'set_rng_state',
    'add_resume_hooks',
    'find_resume_checkpoint',
    'requeue_slurm_job',
    'FiniteLossHook',
    'NonFiniteLossError',
    'LabelRangeHook',
    'LabelRangeError',
]
