#!/usr/bin/env bash
# The house rules' checks (docs/en/notes/code_style.md), offline: what the hooks of
# .pre-commit-config.yaml check, with the ruff of mmwrn's environment
# (requirements/tests.txt), so that neither network nor pre-commit is needed.
#
#   bash tools/lint.sh [--no-format]
#
#   1. ruff check            the lint rules of pyproject.toml [tool.ruff.lint]
#   2. ruff format --check   the layout of pyproject.toml [tool.ruff.format]
#                            (--no-format skips it)
#   3. every text file git knows (tracked, or new and not ignored): no trailing
#      whitespace, ends with exactly one newline, no merge conflict markers;
#      the YAML files parse
#
# Runs every check, then exits 1 when one failed. tools/run_tests.sh runs it before
# the suite. The ruff used: <environment>/bin/ruff (MMWRN_VENV, the active virtual
# environment or <repo>/.venv, as tools/env.sh picks), else the one on PATH; its
# version must be the one requirements/tests.txt pins, since the rules change with it.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
log() { echo "[mmwrn lint] $*"; }

FORMAT=1
for arg in "$@"; do
    case "$arg" in
        --no-format) FORMAT=0 ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"
                   exit 0 ;;
        *) echo "unknown argument $arg (valid: --no-format)" >&2; exit 2 ;;
    esac
done

VENV=${MMWRN_VENV:-${VIRTUAL_ENV:-$ROOT/.venv}}
if [[ -x "$VENV/bin/ruff" ]]; then
    RUFF="$VENV/bin/ruff"
elif command -v ruff >/dev/null; then
    RUFF=$(command -v ruff)
else
    log "ERROR: no ruff in $VENV/bin or on PATH; run 'bash tools/install.sh' (installs" \
        "requirements/tests.txt) or 'pip install -r requirements/tests.txt'"
    exit 2
fi
PY="$VENV/bin/python"
[[ -x "$PY" ]] || PY=$(command -v python3)

want=$(sed -n 's/^ruff==\([^ #]*\).*/\1/p' requirements/tests.txt)
have=$("$RUFF" --version | awk '{print $2}')
if [[ "$have" != "$want" ]]; then
    log "ERROR: $RUFF is ruff $have; requirements/tests.txt pins ruff $want (rules and" \
        "layout differ between versions): run 'bash tools/install.sh' or" \
        "'pip install ruff==$want'"
    exit 2
fi

failed=()
log "ruff $have check"
"$RUFF" check --no-cache . || failed+=("ruff check (fix: ruff check --fix, or by hand)")
if [[ "$FORMAT" == 1 ]]; then
    log "ruff $have format --check"
    "$RUFF" format --no-cache --check --output-format concise . || failed+=("ruff format --check (fix: ruff format)")
else
    log "ruff format --check skipped (--no-format)"
fi

log "whitespace, end of file, merge conflict markers, YAML"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | "$PY" -c '
import os, sys
try:
    import yaml
except ImportError:
    yaml = None
    print("PyYAML missing: YAML files not parsed")

problems = []
for path in sorted(set(sys.stdin.read().split("\0")) - {""}):
    if not os.path.isfile(path):  # deleted, not yet staged
        continue
    with open(path, "rb") as f:
        data = f.read()
    if not data or b"\0" in data[:8000]:  # empty, or binary as git decides
        continue
    for i, line in enumerate(data.split(b"\n"), 1):
        line = line[:-1] if line.endswith(b"\r") else line  # CRLF is not whitespace
        if line != line.rstrip():
            problems.append(f"{path}:{i}: trailing whitespace")
        if line.startswith((b"<<<<<<< ", b">>>>>>> ")) or line in (b"<<<<<<<", b">>>>>>>"):
            problems.append(f"{path}:{i}: merge conflict marker")
    end = data[len(data.rstrip(b"\r\n")):]
    if not end:
        problems.append(f"{path}: no newline at the end of the file")
    elif end not in (b"\n", b"\r\n"):
        problems.append(f"{path}: blank lines at the end of the file")
    if yaml and path.endswith((".yml", ".yaml")):
        try:
            list(yaml.safe_load_all(data))
        except yaml.YAMLError as e:
            problems.append(f"{path}: not valid YAML: " + " ".join(str(e).split()))
print("\n".join(problems) or "ok")
sys.exit(1 if problems else 0)
' || failed+=("whitespace/end of file/conflict markers/YAML (pre-commit run --all-files fixes the first two)")
else
    log "not a git checkout: these checks need git's file list, skipped"
fi

if [[ ${#failed[@]} -gt 0 ]]; then
    for f in "${failed[@]}"; do log "FAILED: $f"; done
    exit 1
fi
log "all checks passed"
