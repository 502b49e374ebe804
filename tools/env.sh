# Sourced by the tools/*.sh scripts: picks the Python environment mmwrn uses.
# MMWRN_VENV wins, then the active virtual environment, then <repo>/.venv;
# MMWRN_VENV and <repo>/.venv are created when absent.
if [[ -n "${MMWRN_VENV:-}" ]]; then
    VENV="$MMWRN_VENV"
elif [[ -n "${VIRTUAL_ENV:-}" ]]; then
    VENV="$VIRTUAL_ENV"
else
    VENV="$ROOT/.venv"
fi
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "[mmwrn] creating virtual environment $VENV"
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
export PYTHONUNBUFFERED=1
