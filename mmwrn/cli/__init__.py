"""Command-line glue of ``tools/train.py`` and ``tools/test.py``: their shared
flags, how they apply to a config, and the launch without CUDA (Slurm
environment, gloo, ``mmwrn.SyncBN``). Not imported by ``import mmwrn``; the
library itself never depends on it."""
