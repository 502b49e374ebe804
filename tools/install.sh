#!/usr/bin/env bash
# Set up everything mmwrn needs, idempotently, in the active virtual environment
# or, when none is active, in <repo>/.venv:
#   torch/torchvision, mmcv 2.1.0 compiled WITH its ops against that torch,
#   mmengine, mmsegmentation, mmpretrain, ftfy, regex and mmwrn (editable, tests extra,
#   which brings mmdetection for the detection configs and tests).
# A second run checks the environment and returns in seconds.
#
# Environment variables:
#   MMWRN_CACHE       where built mmcv wheels are kept, keyed by torch and Python
#                     version (default ~/.cache/mmwrn)
#   MMWRN_MMCV_CUDA=1 also compile mmcv's CUDA ops (much slower; mmwrn needs none)
#   MAX_JOBS          parallel compile jobs for mmcv (default: number of cores)
#   MMWRN_WHEELHOUSE  offline set-up from a folder made by tools/gpu/prepare_offline.sh
#                     (below; docs/en/advanced_guides/gpu_performance.md)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tools/env.sh
source "$ROOT/tools/env.sh"
log() { echo "[mmwrn install] $*"; }

# shellcheck source=tools/mmcv_source.sh
source "$ROOT/tools/mmcv_source.sh"   # MMCV_VERSION, mmcv_download_source
CACHE=${MMWRN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmwrn}
PIP=("$PY" -m pip --disable-pip-version-check)

# --- Offline / wheelhouse mode (MMWRN_WHEELHOUSE=DIR) --------------------------
# For a machine without network, e.g. a GPU image with its own torch. pip reads
# DIR only (no index); torch and torchvision are the environment's own and are
# kept; DIR holds mmcv's source and one version of every package the target may
# lack (resolved together when tools/gpu/prepare_offline.sh made it), installed
# without dependency resolution (--no-deps; tools/gpu/wheelhouse_specs.py keeps
# what the environment already satisfies): the import check at the end proves
# the set complete. Without MMWRN_WHEELHOUSE nothing below changes.
WHEELHOUSE=""
NO_DEPS=()
if [[ -n "${MMWRN_WHEELHOUSE:-}" ]]; then
    WHEELHOUSE=$(cd "$MMWRN_WHEELHOUSE" && pwd)
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$WHEELHOUSE"
    NO_DEPS=(--no-deps)
    # one requirement per wheel (fails on an empty or mixed-up folder)
    WHEELHOUSE_SPECS=$("$PY" "$ROOT/tools/gpu/wheelhouse_specs.py" "$WHEELHOUSE")
    log "offline: packages from $WHEELHOUSE only, torch kept as installed"
fi
# -------------------------------------------------------------------------------

req_hash() {
    cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" | sha256sum | cut -c1-16
}

# Prints "ok" when mmcv $MMCV_VERSION with compiled ops built against the
# installed torch is importable, otherwise the reason it is not usable.
mmcv_state() {
    "$PY" - "$MMCV_VERSION" <<'PY'
import importlib, sys
want = sys.argv[1]
try:
    import torch
except Exception as e:
    sys.exit(print(f'torch not importable ({e})'))
try:
    import mmcv
    from mmcv import version
except Exception as e:
    sys.exit(print(f'mmcv not importable ({e.__class__.__name__}: {e})'))
if mmcv.__version__ != want:
    sys.exit(print(f'mmcv {mmcv.__version__} installed, {want} required'))
try:
    importlib.import_module('mmcv._ext')
except Exception as e:
    sys.exit(print(f'mmcv has no compiled ops (mmcv._ext: {e})'))
built = getattr(version, 'built_with_torch', None)
if built != torch.__version__:
    sys.exit(print(f'mmcv was built against torch {built or "unknown"}, '
                   f'torch {torch.__version__} is installed'))
print('ok')
PY
}

# What to do about torch: "want X" (MMWRN_TORCH), "keep X" (a supported torch is
# installed), "unsupported X", or why the newest supported one must be installed.
# The supported range is SUPPORTED_TORCH in mmwrn/version.py.
torch_plan() {
    "$PY" - "$ROOT/mmwrn/version.py" "${MMWRN_TORCH:-}" <<'PY'
import sys
ns = {}
exec(open(sys.argv[1]).read(), ns)
low, high = ns['SUPPORTED_TORCH']
key = lambda v: tuple(int(p) for p in v.split('+')[0].split('.')[:2])
want = sys.argv[2]
if want:
    ok = key(low) <= key(want) <= key(high)
    print(f'want {want}' if ok else f'unsupported {want} (mmwrn supports torch {low} to {high})')
    sys.exit()
try:
    import torch
except Exception:
    sys.exit(print('none'))
have = torch.__version__.split('+')[0]
print(f'keep {have}' if key(low) <= key(have) <= key(high)
      else f'replace {have} (outside the supported {low} to {high})')
PY
}

STAMP="$VENV/.mmwrn-install-stamp"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(req_hash)" ]] \
        && [[ "$(mmcv_state)" == ok ]] \
        && "$PY" -c "import mmwrn, mmseg.models, mmpretrain.models, mmdet.models" 2>/dev/null; then
    "$PY" "$ROOT/tools/link_editable_mim.py"
    log "environment $VENV is up to date"
    exit 0
fi

if [[ -z "$WHEELHOUSE" ]]; then
    # torch: MMWRN_TORCH=X.Y.Z asks for one; otherwise a supported torch already in the
    # environment is kept, and a fresh environment gets the newest supported one
    # (requirements/torch.txt)
    torch_state=$(torch_plan)
    case "$torch_state" in
        want\ *)
            log "installing torch ${torch_state#want } (MMWRN_TORCH) and its torchvision"
            "${PIP[@]}" install -q "torch==${torch_state#want }" torchvision "numpy<2" ;;
        keep\ *)
            log "keeping the installed torch ${torch_state#keep } (supported); adding its torchvision if missing"
            "${PIP[@]}" install -q "torch==${torch_state#keep }" torchvision "numpy<2" ;;
        unsupported\ *)
            log "ERROR: MMWRN_TORCH: ${torch_state#unsupported }"; exit 1 ;;
        *)
            log "torch: ${torch_state}; installing the newest supported torch (requirements/torch.txt)"
            "${PIP[@]}" install -q -r "$ROOT/requirements/torch.txt" "numpy<2" ;;
    esac
elif ! "$PY" -c "import torch" 2>/dev/null; then
    log "ERROR: MMWRN_WHEELHOUSE keeps the environment's torch, but $PY has none;"
    log "set VIRTUAL_ENV to the environment that holds torch (docs/en/advanced_guides/gpu_performance.md)"
    exit 1
fi
log "installing build tools for mmcv (requirements/build.txt)"
"${PIP[@]}" install -q -r "$ROOT/requirements/build.txt"
if [[ -n "$WHEELHOUSE" ]]; then
    # what the environment already satisfies is kept
    mapfile -t specs <<< "$WHEELHOUSE_SPECS"
    log "installing from the wheelhouse what the environment lacks (${#specs[@]} packages, --no-deps)"
    "${PIP[@]}" install -q --no-deps "${specs[@]}"
fi

state=$(mmcv_state)
if [[ "$state" != ok ]]; then
    log "mmcv needs (re)installing: $state"
    TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__)')
    PY_TAG=$("$PY" -c 'import sys; print("py%d%d" % sys.version_info[:2])')
    WHEEL_DIR="$CACHE/wheels/mmcv-$MMCV_VERSION-torch-$TORCH_VERSION-$PY_TAG"
    [[ "${MMWRN_MMCV_CUDA:-0}" == 1 ]] && WHEEL_DIR="$WHEEL_DIR-cuda"
    wheel=$(ls "$WHEEL_DIR"/mmcv-*.whl 2>/dev/null | head -n1 || true)
    if [[ -z "$wheel" ]]; then
        log "no cached mmcv wheel for torch $TORCH_VERSION in $WHEEL_DIR"
        log "COMPILING mmcv $MMCV_VERSION with its ops: this takes about 10 minutes on 2 cores"
        src=$(mktemp -d)
        mmcv_download_source "$src"
        tar -xzf "$src"/mmcv-"$MMCV_VERSION".tar.gz -C "$src"
        pkg="$src/mmcv-$MMCV_VERSION"
        # torch >= 2.6 headers need C++20; mmcv 2.1.0 hard-codes C++17
        if "$PY" -c 'import sys, torch; sys.exit(tuple(map(int, torch.__version__.split(".")[:2])) < (2, 6))'; then
            sed -i 's/-std=c++17/-std=c++20/g' "$pkg/setup.py"
        fi
        # record the torch this build is for, so a later torch change is detected
        echo "built_with_torch = '$TORCH_VERSION'" >> "$pkg/mmcv/version.py"
        if [[ "${MMWRN_MMCV_CUDA:-0}" == 1 ]]; then cuda=(FORCE_CUDA=1); else cuda=(FORCE_CUDA=0 CUDA_VISIBLE_DEVICES=); fi
        mkdir -p "$WHEEL_DIR"
        (cd "$pkg" && env MMCV_WITH_OPS=1 "${cuda[@]}" MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "${PIP[@]}" wheel -q --no-deps --no-build-isolation --no-cache-dir . -w "$WHEEL_DIR")
        rm -rf "$src"
        wheel=$(ls "$WHEEL_DIR"/mmcv-*.whl | head -n1)
        log "built $wheel"
    else
        log "using cached $wheel"
    fi
    "${PIP[@]}" install -q --force-reinstall --no-deps "$wheel"
    [[ -n "$WHEELHOUSE" ]] || "${PIP[@]}" install -q "$wheel"   # mmcv's own dependencies
    state=$(mmcv_state)
    if [[ "$state" != ok ]]; then
        log "ERROR: mmcv is still not usable after installing $wheel: $state"
        log "delete $WHEEL_DIR and run again to rebuild it"
        exit 1
    fi
fi
log "mmcv $MMCV_VERSION with compiled ops: ok"

log "installing mmengine, mmsegmentation, mmpretrain and mmwrn (editable, with test extras: mmdetection)"
"${PIP[@]}" install -q --no-build-isolation "${NO_DEPS[@]}" -e "$ROOT[tests]"
# mim reads <site-packages>/mmwrn/.mim, which an editable install lacks: link it
"$PY" "$ROOT/tools/link_editable_mim.py"
if [[ -z "$WHEELHOUSE" ]]; then
    # openmim (the `mim` command, for the packaging tests) without its opendatalab
    # dependency, whose openxlab pins setuptools 60 and old requests/rich; mim's
    # other dependencies are in the tests extra
    "${PIP[@]}" install -q --no-deps openmim==0.3.9
fi
"$PY" -c "import mmwrn, mmseg.models, mmpretrain.models, mmdet.models" \
    || { log "ERROR: the stack does not import"; exit 1; }
req_hash > "$STAMP"
log "done: $VENV ($("$PY" -c 'import torch, mmcv, mmseg, mmpretrain, mmengine, mmdet; print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmseg {mmseg.__version__}, mmpretrain {mmpretrain.__version__}, mmdet {mmdet.__version__}")'))"
