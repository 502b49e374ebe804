"""tools/gpu/wheelhouse_specs.py: the requirements tools/install.sh installs
from an offline wheelhouse (MMWRN_WHEELHOUSE): one per wheel, with mmwrn's
version ranges where it names the package."""

import os.path as osp
import subprocess
import sys

import pytest

from tests.helpers.seg import ROOT

sys.path.insert(0, osp.join(ROOT, 'tools', 'gpu'))
from wheelhouse_specs import requirement_specs, wheelhouse_requirements  # noqa: E402

WHEELS = (
    'mmengine-0.10.7-py3-none-any.whl',
    'setuptools-80.10.2-py3-none-any.whl',
    'model_index-0.1.11-py3-none-any.whl',
    'PyYAML-6.0.3-cp312-cp312-manylinux2014_x86_64.whl',
    'pytest-9.2.0-py3-none-any.whl',
)


def test_requirement_files_are_read():
    specs = requirement_specs()
    assert specs['mmengine'] == '>=0.10.3,<0.11' and specs['setuptools'] == '<82'
    assert specs['numpy'] == '<2' and specs['pytest'] == ''


def test_one_requirement_per_wheel(tmp_path):
    for name in WHEELS:
        (tmp_path / name).touch()
    (tmp_path / 'mmcv-2.1.0.tar.gz').touch()  # the source is fetched by pip download
    assert sorted(wheelhouse_requirements(str(tmp_path))) == [
        'mmengine>=0.10.3,<0.11',
        'model-index',
        'pytest',
        'pyyaml',
        'setuptools<82',
    ]


@pytest.mark.slow
def test_refuses_an_empty_or_mixed_up_wheelhouse(tmp_path):
    with pytest.raises(SystemExit, match='has no wheels: make it with'):
        wheelhouse_requirements(str(tmp_path))
    (tmp_path / 'pytest-9.2.0-py3-none-any.whl').touch()
    (tmp_path / 'pytest-9.1.0-py3-none-any.whl').touch()
    with pytest.raises(SystemExit, match='two versions of pytest'):
        wheelhouse_requirements(str(tmp_path))
    out = subprocess.run(
        [sys.executable, 'tools/gpu/wheelhouse_specs.py', str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0 and 'two versions of pytest' in out.stderr
