import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
# what OpenMMLab tools (mim, the hosts' model lookups) read from <package>/.mim/
MIM_CONTENT = ('configs', 'tools', 'model-index.yml')


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.split('#')[0].strip() for ln in lines if ln.split('#')[0].strip()]


class BuildPyWithMim(build_py):
    """Puts configs/, tools/ and model-index.yml into the built package as
    ``mmwrn/.mim/`` (OpenMMLab's layout), so that a wheel or ``pip install .``
    carries them. An editable install reads them from the checkout instead
    (mmwrn itself); tools/link_editable_mim.py links them for ``mim``."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        target = Path(self.build_lib) / 'mmwrn' / '.mim'
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
        for name in MIM_CONTENT:
            src = HERE / name
            if src.is_dir():
                shutil.copytree(src, target / name, ignore=ignore)
            else:
                shutil.copy2(src, target / name)


version = {}
exec((HERE / 'mmwrn' / 'version.py').read_text(), version)

setup(
    name='mmwrn',
    version=version['__version__'],
    description='Wider ResNet-38 family and Wide ResNets for mmsegmentation and mmpretrain',
    long_description=(HERE / 'README.md').read_text(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmwrn', 'mmwrn.*']),
    python_requires='>=3.9',
    # torch (SUPPORTED_TORCH in mmwrn/version.py) and mmcv with its compiled ops
    # come from the user's environment or tools/install.sh, as for mmseg itself
    install_requires=read_requirements('runtime.txt'),
    # the tests extra builds the documentation too (tools/run_tests.sh runs tools/build_docs.sh)
    extras_require={
        'tests': read_requirements('tests.txt') + read_requirements('docs.txt'),
        'docs': read_requirements('docs.txt'),
    },
    cmdclass={'build_py': BuildPyWithMim},
    license='Apache-2.0',
    license_files=['LICENSE'],
)
