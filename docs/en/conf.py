"""Sphinx configuration of mmwrn's documentation (OpenMMLab's docs/en layout).

Build it with ``bash tools/build_docs.sh`` (warnings are errors; no network)."""

import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, osp.join(HERE, '_ext'))

version_ns = {}
with open(osp.join(ROOT, 'mmwrn', 'version.py')) as f:
    exec(f.read(), version_ns)

project = 'mmwrn'
copyright = '2026, mmwrn authors'
author = 'mmwrn authors'
version = release = version_ns['__version__']

extensions = ['myst_parser', 'repo_paths']
source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
exclude_patterns = ['_build']

# heading anchors (`page.md#a-heading`) down to level 4 are link targets, checked by -n
myst_heading_anchors = 4
myst_enable_extensions = ['colon_fence']
# a link to a missing page or anchor is an error, not a plain link
nitpicky = True

html_theme = 'sphinx_rtd_theme'
html_title = f'mmwrn {release}'
html_theme_options = {'navigation_depth': 3}

# paths of the repository named in code spans (`tools/train.py`) must exist (_ext/repo_paths.py)
repo_paths_root = ROOT
