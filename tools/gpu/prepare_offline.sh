#!/usr/bin/env bash
# Make a wheelhouse for tools/install.sh's offline mode (MMWRN_WHEELHOUSE=DIR) on a
# machine with network, for a target machine without it that has Python
# $PYTHON_VERSION, x86-64 Linux and its own torch (e.g. a GPU image):
#
#   bash tools/gpu/prepare_offline.sh [--dest .whl] [--python-version 3.12] [--full]
#
# DIR gets mmcv's source tarball (from where tools/install.sh fetches it,
# tools/mmcv_source.sh) and binary-only wheels of requirements/{build,runtime,tests}.txt
# and mmcv's own requirements, resolved together for the target Python, one
# version of each. By default ("slim") the wheels of the heavy compiled packages
# that every PyTorch GPU image already has ($IMAGE_PROVIDED) are left out,
# which keeps DIR small (about 40 MiB, most of it onnxruntime and onnx for the
# ONNX export tests): the target's own are then used (numpy 2 there,
# although requirements/runtime.txt pins numpy<2 for the CPU set-up). --full
# keeps them (~150 MiB: numpy<2 and an OpenCV built for it), for a target with
# nothing but torch. DIR is replaced; /.whl/ is git-ignored.
#
# Runs in the environment tools/install.sh set up (its pip; setuptools < 81 is
# needed to read mmcv's source metadata, as in the installer).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tools/env.sh
source "$ROOT/tools/env.sh"
# shellcheck source=tools/mmcv_source.sh
source "$ROOT/tools/mmcv_source.sh"
log() { echo "[mmwrn offline] $*"; }

DEST="$ROOT/.whl"
PYTHON_VERSION=3.12
FULL=0
# compiled packages of the stack that PyTorch GPU images ship (opencv as
# opencv-python-headless there, which provides the same cv2)
IMAGE_PROVIDED=(numpy scipy matplotlib opencv-python pillow contourpy fonttools kiwisolver)
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64
           manylinux2014_x86_64 manylinux1_x86_64)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dest) DEST=$2; shift 2 ;;
        --python-version) PYTHON_VERSION=$2; shift 2 ;;
        --full) FULL=1; shift ;;
        -h|--help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "${BASH_SOURCE[0]}"
                   exit 0 ;;
        *) echo "unknown argument $1 (valid: --dest DIR, --python-version X.Y, --full)" >&2
           exit 2 ;;
    esac
done
if ! [[ "$PYTHON_VERSION" =~ ^3\.[0-9]+$ ]]; then
    echo "--python-version must look like 3.12, got $PYTHON_VERSION" >&2
    exit 2
fi
PIP=("$PY" -m pip --disable-pip-version-check)
ABI="cp${PYTHON_VERSION/./}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/wh"
log "mmcv $MMCV_VERSION source"
mmcv_download_source "$tmp/wh"
tar -xzf "$tmp/wh/mmcv-$MMCV_VERSION.tar.gz" -C "$tmp" "mmcv-$MMCV_VERSION/requirements/runtime.txt"

log "wheels for CPython $PYTHON_VERSION ($ABI), x86-64 Linux"
platform_args=()
for p in "${PLATFORMS[@]}"; do platform_args+=(--platform "$p"); done
"${PIP[@]}" download -q --only-binary=:all: --python-version "$PYTHON_VERSION" \
    --implementation cp --abi "$ABI" "${platform_args[@]}" -d "$tmp/wh" \
    -r "$ROOT/requirements/build.txt" -r "$ROOT/requirements/runtime.txt" \
    -r "$ROOT/requirements/tests.txt" -r "$tmp/mmcv-$MMCV_VERSION/requirements/runtime.txt"

if [[ "$FULL" == 0 ]]; then
    for name in "${IMAGE_PROVIDED[@]}"; do
        # wheel file names use the normalised project name: lower case, '-' -> '_'
        rm -f "$tmp/wh/${name//-/_}"-[0-9]*.whl
    done
    log "slim: left out ${IMAGE_PROVIDED[*]} (the target's own are used)"
fi
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$tmp/wh" "$DEST"
log "wrote $DEST: $(ls "$DEST"/*.whl | wc -l) wheels + mmcv-$MMCV_VERSION.tar.gz, $(du -sh "$DEST" | cut -f1)"
