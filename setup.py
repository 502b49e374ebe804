from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements(name):
    lines = (HERE / 'requirements' / name).read_text().splitlines()
    return [ln.split('#')[0].strip() for ln in lines if ln.split('#')[0].strip()]


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
    # torch, torchvision and a compiled mmcv come from tools/install.sh
    install_requires=read_requirements('runtime.txt'),
    extras_require={'tests': read_requirements('tests.txt')},
    license='Apache-2.0',
)
