#!/usr/bin/env bash
# Set up the environment if needed (tools/install.sh), then run the main job.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/install.sh"
source "$ROOT/tools/env.sh"
cd "$ROOT"
echo "[mmwrn] main job: building every WiderResNet preset"
exec "$PY" tools/analysis_tools/presets.py "$@"
