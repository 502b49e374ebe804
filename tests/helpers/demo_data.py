"""tools/demo/synthetic_data.py (the demo's and the tests' small datasets; a
script beside the demo, not part of the mmwrn package), imported by path."""

import importlib.util
import os.path as osp

_PATH = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
    'tools',
    'demo',
    'synthetic_data.py',
)
_spec = importlib.util.spec_from_file_location('synthetic_data', _PATH)
synthetic_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(synthetic_data)
