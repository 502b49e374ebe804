#!/usr/bin/env bash
# Set up the environment if needed (tools/install.sh), then run the main job:
# tools/demo/run_demo.py (synthetic VOC-layout data -> train -> mIoU -> overlays).
# Extra arguments go to run_demo.py, e.g. `--iters 300`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/install.sh"
source "$ROOT/tools/env.sh"
cd "$ROOT"
# mmengine 0.10.7 imports the deprecated pkg_resources on every start
export PYTHONWARNINGS='ignore:pkg_resources is deprecated:UserWarning'
exec "$PY" tools/demo/run_demo.py "$@"
