# Sourced by the tools/*.sh scripts: picks the Python environment mmwrn uses.
# The active virtual environment wins; otherwise <repo>/.venv (created if absent).
if [[ -n "${VIRTUAL_ENV:-}" ]]; then
    VENV="$VIRTUAL_ENV"
else
    VENV="$ROOT/.venv"
    if [[ ! -x "$VENV/bin/python" ]]; then
        echo "[mmwrn] creating virtual environment $VENV"
        python3 -m venv "$VENV"
    fi
fi
PY="$VENV/bin/python"
export PYTHONUNBUFFERED=1
