#!/usr/bin/env bash
# Set up the environment if needed (tools/install.sh), check the house rules
# (tools/lint.sh: ruff check, ruff format --check, whitespace; a finding stops
# here, before the suite; MMWRN_SKIP_LINT=1 skips it) and run the test suite;
# then, unless arguments are given, the documentation build with warnings as
# errors (tools/build_docs.sh) and, unless MMWRN_SKIP_OLDEST=1 too, the
# fast tests and the compatibility tests (`-m "compat or not slow"`) on the
# oldest supported stack (requirements/oldest.txt: torch 2.1.2) in
# <repo>/.venv-oldest.
# Extra arguments go to pytest, e.g. `bash tools/run_tests.sh -k wider -x`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/install.sh"
source "$ROOT/tools/env.sh"
cd "$ROOT"
if [[ "${MMWRN_SKIP_LINT:-0}" != 1 ]]; then
    bash "$ROOT/tools/lint.sh"
fi
echo "[mmwrn] running the test suite ($("$PY" -c 'import torch; print("torch", torch.__version__)'))"
"$PY" -m pytest tests "$@"
if [[ $# -gt 0 ]]; then
    exit 0
fi
echo "[mmwrn] building the documentation (warnings are errors)"
PYTHON="$PY" bash "$ROOT/tools/build_docs.sh"
if [[ "${MMWRN_SKIP_OLDEST:-0}" == 1 ]]; then
    exit 0
fi
OLDEST="$ROOT/.venv-oldest"
echo "[mmwrn] fast and compatibility tests on the oldest supported stack in $OLDEST"
MMWRN_VENV="$OLDEST" PIP_CONSTRAINT="$ROOT/requirements/oldest.txt" \
    MMWRN_TORCH=$(sed -n 's/^torch==//p' "$ROOT/requirements/oldest.txt") \
    bash "$ROOT/tools/install.sh"
exec "$OLDEST/bin/python" -m pytest tests -m "compat or not slow"
