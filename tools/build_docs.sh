#!/usr/bin/env bash
# Build the documentation (docs/en, Sphinx + myst-parser + sphinx-rtd-theme from
# requirements/docs.txt) into docs/en/_build/html with every warning an error:
# a link to a missing page or heading anchor (-n, myst_heading_anchors), a page
# outside the toctree, a repository path named in a page that does not exist
# (docs/en/_ext/repo_paths.py). Then the same path and link
# check on the markdown files Sphinx does not read (README.md, CHANGELOG.md, the
# configs' READMEs).
# No network is used. Extra arguments go to sphinx-build (e.g. -E for a clean build).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# the environment of the set-up (tools/env.sh), or PYTHON=/path/to/python
if [[ -n "${PYTHON:-}" ]]; then PY=$PYTHON; else source "$ROOT/tools/env.sh"; fi
cd "$ROOT"
"$PY" -m sphinx -E -W --keep-going -n -b html "$@" docs/en docs/en/_build/html
"$PY" docs/en/_ext/repo_paths.py README.md CHANGELOG.md configs/README.md configs/*/README.md
echo "[mmwrn] docs built without warnings: docs/en/_build/html/index.html"
