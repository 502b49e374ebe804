"""The errors the checkpoint-reading tools print as one ``error: ...`` line
(exit status 1) instead of a traceback: a file or argument the user gave is
wrong, not the code."""

import pickle

from mmwrn.checkpoint import CheckpointMismatchError, CorruptCheckpointError
from mmwrn.utils.outputs import OutputError

# a missing or corrupt checkpoint, one that does not fit the model, one that
# would run code (mmwrn.checkpoint.UnsafeCheckpointError is an
# UnpicklingError), an output path that would overwrite an input
CHECKPOINT_TOOL_ERRORS = (
    FileNotFoundError,
    CorruptCheckpointError,
    CheckpointMismatchError,
    pickle.UnpicklingError,
    OutputError,
)
