"""Print the pip requirements that install a wheelhouse made by
tools/gpu/prepare_offline.sh into an existing environment (tools/install.sh
with MMWRN_WHEELHOUSE=DIR): one per wheel in DIR, with the version range of
requirements/{build,runtime,tests}.txt where mmwrn names the package and bare
otherwise. Installed with ``pip install --no-deps --no-index``, a package the
environment already has in a satisfying version is kept (a GPU image's own
pytest, rich, ...: replacing them could break the image's other packages) and
everything else comes from DIR.

    python tools/gpu/wheelhouse_specs.py DIR
"""

import glob
import os.path as osp
import re
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REQUIREMENT_FILES = ('build.txt', 'runtime.txt', 'tests.txt')


def normalise(name):
    """PEP 503 project name: lower case, runs of '-', '_', '.' as one '-'."""
    return re.sub(r'[-_.]+', '-', name).lower()


def requirement_specs(root=ROOT):
    """{project: specifier} of mmwrn's requirement files (markers dropped)."""
    specs = {}
    for name in REQUIREMENT_FILES:
        with open(osp.join(root, 'requirements', name)) as f:
            for line in f:
                line = line.split('#')[0].split(';')[0].strip()
                m = re.match(r'([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$', line)
                if m:
                    specs[normalise(m.group(1))] = m.group(2).replace(' ', '')
    return specs


def wheelhouse_requirements(wheelhouse, root=ROOT):
    specs = requirement_specs(root)
    wheels = sorted(glob.glob(osp.join(wheelhouse, '*.whl')))
    if not wheels:
        raise SystemExit(f'{wheelhouse} has no wheels: make it with tools/gpu/prepare_offline.sh')
    projects = {}
    for path in wheels:
        project = normalise(osp.basename(path).split('-')[0])
        if project in projects:
            raise SystemExit(
                f'{wheelhouse} holds two versions of {project}: '
                f'{osp.basename(projects[project])} and {osp.basename(path)}; '
                'make it again with tools/gpu/prepare_offline.sh'
            )
        projects[project] = path
    return [p + specs.get(p, '') for p in projects]


if __name__ == '__main__':
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    print('\n'.join(wheelhouse_requirements(sys.argv[1])))
