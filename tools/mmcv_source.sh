# Sourced by tools/install.sh and tools/gpu/prepare_offline.sh: the mmcv version
# mmwrn builds and the one place its source tarball comes from, so that an
# offline wheelhouse carries exactly what the installer would fetch.
MMCV_VERSION=2.1.0

# mmcv_download_source DIR: mmcv-$MMCV_VERSION.tar.gz (sdist) into DIR, from the
# index pip is configured with: PyPI, or a wheelhouse when PIP_NO_INDEX=1 and
# PIP_FIND_LINKS=DIR (tools/install.sh with MMWRN_WHEELHOUSE). Needs "${PIP[@]}"
# (pip of the target Python) and setuptools < 81 there (mmcv's setup.py imports
# pkg_resources; no build isolation, as the build itself).
mmcv_download_source() {
    "${PIP[@]}" download -q --no-deps --no-binary :all: --no-build-isolation \
        "mmcv==$MMCV_VERSION" -d "$1"
    [[ -f "$1/mmcv-$MMCV_VERSION.tar.gz" ]]
}
