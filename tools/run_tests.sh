#!/usr/bin/env bash
# Set up the environment if needed (tools/install.sh) and run the test suite.
# Extra arguments go to pytest, e.g. `bash tools/run_tests.sh -k wider -x`.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$ROOT/tools/install.sh"
source "$ROOT/tools/env.sh"
cd "$ROOT"
echo "[mmwrn] running the test suite"
exec "$PY" -m pytest tests "$@"
