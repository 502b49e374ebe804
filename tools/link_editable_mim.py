"""Make ``mim`` work with an editable install of mmwrn.

``mim`` (openmim 0.3.9) finds a package's configs, tools and model index in
``<the folder of its dist-info>/mmwrn/.mim/``. A wheel carries that folder
(setup.py's ``BuildPyWithMim``); an editable install (``pip install -e``, what
tools/install.sh makes) has only the dist-info and an import hook in
site-packages, so ``mim search/train/test/run mmwrn`` fail. This tool gives the
editable install OpenMMLab's development layout:

* ``<checkout>/mmwrn/.mim/{configs,tools,model-index.yml}``: relative links to
  the checkout's folders (ignored by git), as OpenMMLab's own setup.py makes
  them for a development install;
* ``<site-packages>/mmwrn``: a link to ``<checkout>/mmwrn``, added to the
  install's RECORD so that ``pip uninstall mmwrn`` (and a reinstall) removes it.

Python then imports mmwrn through that link: the same files, edits still live.
Idempotent (tools/install.sh runs it after every editable install); refuses a
wheel install (it has its own ``.mim``) and an install from another checkout.

    python tools/link_editable_mim.py          # link, or check the links
"""

import argparse
import json
import os
import os.path as osp
import sys
from importlib import metadata
from urllib.parse import unquote, urlparse

ROOT = osp.dirname(osp.dirname(osp.realpath(__file__)))
# the same items as setup.py's MIM_CONTENT (what a wheel carries in mmwrn/.mim)
MIM_CONTENT = ('configs', 'tools', 'model-index.yml')


class LinkError(RuntimeError):
    """The environment's mmwrn cannot be (or need not be) linked."""


def editable_source(dist):
    """The checkout an editable install of ``dist`` was made from (its
    ``direct_url.json``, PEP 610), or None for any other install."""
    text = dist.read_text('direct_url.json')
    if not text:
        return None
    info = json.loads(text)
    if not info.get('dir_info', {}).get('editable'):
        return None
    return osp.realpath(unquote(urlparse(info['url']).path))


def link_mim_folder(root):
    """``root/mmwrn/.mim/<item>`` -> ``../../<item>`` for each of
    :data:`MIM_CONTENT`; returns the links made."""
    mim = osp.join(root, 'mmwrn', '.mim')
    if osp.lexists(mim) and (osp.islink(mim) or not osp.isdir(mim)):
        raise LinkError(f'{mim} exists and is not a folder: remove it and run again')
    os.makedirs(mim, exist_ok=True)
    made = []
    for item in MIM_CONTENT:
        link, target = osp.join(mim, item), osp.join('..', '..', item)
        if osp.islink(link) and os.readlink(link) == target:
            continue
        if osp.lexists(link):
            raise LinkError(
                f'{link} exists and is not the link to {target} that mim needs: '
                'remove it and run again'
            )
        os.symlink(target, link)
        made.append(link)
    return made


def link_package(dist, root):
    """``<site-packages>/mmwrn`` -> ``root/mmwrn``, recorded in the install's
    RECORD; returns whether anything changed."""
    site = osp.realpath(str(dist.locate_file('')))
    link, target = osp.join(site, 'mmwrn'), osp.join(root, 'mmwrn')
    changed = False
    if osp.islink(link):
        if os.readlink(link) != target:
            os.remove(link)  # a link to an earlier location of this checkout
    elif osp.lexists(link):
        raise LinkError(
            f'{link} exists and is not a link (left by a non-editable install?): '
            'pip uninstall mmwrn, remove it, then reinstall'
        )
    if not osp.islink(link):
        os.symlink(target, link)
        changed = True
    (record,) = [
        f for f in dist.files if f.name == 'RECORD' and f.parent.name.endswith('.dist-info')
    ]
    record = str(dist.locate_file(record))
    with open(record) as f:
        lines = f.read().splitlines()
    if not any(line.split(',')[0] == 'mmwrn' for line in lines):
        with open(record, 'a') as f:
            f.write('mmwrn,,\n')  # a path without hash, as pip records .pyc files
        changed = True
    return changed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.parse_args()
    try:
        dist = metadata.distribution('mmwrn')
    except metadata.PackageNotFoundError:
        sys.exit(f'mmwrn is not installed for {sys.executable}: pip install -e {ROOT}')
    try:
        source = editable_source(dist)
        if source is None:
            raise LinkError(
                f'mmwrn in {dist.locate_file("")} is not an editable install: its '
                'mmwrn/.mim already holds what mim reads; nothing to link'
            )
        if source != ROOT:
            raise LinkError(
                f'the editable mmwrn of {sys.executable} is installed from '
                f'{source}, not from this checkout ({ROOT}): run '
                f'{source}/tools/link_editable_mim.py'
            )
        made = link_mim_folder(ROOT)
        changed = link_package(dist, ROOT)
    except LinkError as e:
        sys.exit(f'link_editable_mim: {e}')
    state = 'linked' if made or changed else 'already linked'
    print(
        f'mim: {state}: {dist.locate_file("mmwrn")} -> {ROOT}/mmwrn (with .mim/: '
        f'{", ".join(MIM_CONTENT)})'
    )


if __name__ == '__main__':
    main()
