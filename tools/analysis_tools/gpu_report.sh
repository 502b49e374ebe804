#!/usr/bin/env bash
# The GPU proof in one command: the set-up of docs/en/get_started.md (tools/install.sh, which
# returns in seconds when done; MMWRN_WHEELHOUSE=DIR sets up offline from
# tools/gpu/prepare_offline.sh's wheelhouse), then gpu_report.py: the `cuda`
# tests and the measurements, printed as markdown.
#   bash tools/analysis_tools/gpu_report.sh [--out FILE] [gpu_report.py options]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
start=$SECONDS
bash "$ROOT/tools/install.sh"
echo "[mmwrn gpu_report] set-up took $((SECONDS - start)) s"
# shellcheck source=tools/env.sh
source "$ROOT/tools/env.sh"
cd "$ROOT"
exec "$PY" tools/analysis_tools/gpu_report.py "$@"
