"""Command-line glue of the tools: the flags ``tools/train.py`` and
``tools/test.py`` share, how they apply to a config, the launch without CUDA
(Slurm environment, gloo, ``mmwrn.SyncBN``), and which errors a tool prints as
one ``error:`` line. Not imported by ``import mmwrn``; the library itself
never depends on it."""
