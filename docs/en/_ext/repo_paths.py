"""Paths of the repository named in the documentation must exist.

The pages name repository files as code spans (```tools/train.py```), in
commands (``python tools/wsss/cam.py configs/...``) and in code blocks. A
renamed or deleted file would leave the page silently wrong, so:

* as a Sphinx extension (``docs/en/conf.py``), every inline literal and code
  block of every page is scanned and each missing path is a warning (an error
  under ``sphinx-build -W``) located at its page and line;
* as a script, ``python docs/en/_ext/repo_paths.py FILE.md...`` checks markdown
  files Sphinx does not read (the front-page ``README.md``): their code spans,
  code blocks and relative links (``[text](docs/en/get_started.md#anchor)``),
  and exits with status 1 listing what is missing.

A path is a token that starts with one of the repository's top-level folders
(``configs/``, ``tools/``, ``mmwrn/``, ``tests/``, ``requirements/``,
``docs/``) or is one of its top-level files. ``*`` globs must match something,
``{a,b}`` is expanded; tokens with placeholders (``<name>``, ``...``, ``|``,
``$``) are left alone, and so are the wheel-only ``mmwrn/.mim`` and build outputs
(``docs/en/_build``).
"""

import glob
import os.path as osp
import re
import sys

PREFIXES = ('configs/', 'tools/', 'mmwrn/', 'tests/', 'requirements/', 'docs/', '.ci/')
TOP_FILES = (
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    'setup.py',
    'MANIFEST.in',
    'model-index.yml',
    'pytest.ini',
)
PLACEHOLDERS = ('<', '>', '...', '|', '$', '%')
# named on purpose although not in the checkout: the folder a wheel carries configs and tools
# in, and mmpretrain's own configs/wrn (a different network from ours)
NOT_IN_CHECKOUT = ('mmwrn/.mim/', 'mmwrn/.mim', 'configs/wrn')
# made by a command the page names (tools/build_docs.sh), absent from a fresh clone
BUILD_OUTPUTS = ('docs/en/_build',)
STRIP = '\'"`,;:()[]=' + '.'


def expand_braces(path):
    match = re.search(r'\{([^{}]*)\}', path)
    if match is None:
        return [path]
    out = []
    for alt in match.group(1).split(','):
        out += expand_braces(path[: match.start()] + alt + path[match.end() :])
    return out


def candidate_paths(text):
    """Tokens of ``text`` that name a repository path."""
    for token in re.split(r'[\s=]+', text):
        if token.startswith('./'):
            token = token[2:]
        token = token.strip(STRIP) if not token.endswith('/') else token.lstrip(STRIP)
        if not (token.startswith(PREFIXES) or token in TOP_FILES):
            continue
        if any(p in token for p in PLACEHOLDERS) or token in NOT_IN_CHECKOUT:
            continue
        if token.startswith(BUILD_OUTPUTS):
            continue
        yield token.split('#')[0]


def exists(path, root):
    for variant in expand_braces(path):
        full = osp.join(root, variant)
        if glob.has_magic(variant):
            if not glob.glob(full):
                return False
        elif not osp.exists(full):
            return False
    return True


def missing_paths(text, root):
    """Paths named in ``text`` that do not exist under ``root``, in order, once each."""
    missing = []
    for path in candidate_paths(text):
        if not exists(path, root) and path not in missing:
            missing.append(path)
    return missing


# ---------------------------------------------------------------- markdown files

FENCE = re.compile(r'^(```|~~~)')
CODE_SPAN = re.compile(r'(`+)(.+?)\1')
LINK = re.compile(r'\]\(([^)\s]+)\)')


def check_markdown(path, root):
    """``[(line number, message)]`` for a markdown file outside Sphinx."""
    problems = []
    base = osp.dirname(osp.abspath(path))
    in_block = False
    with open(path) as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        if FENCE.match(line.lstrip()):
            in_block = not in_block
            continue
        texts = [line] if in_block else [m.group(2) for m in CODE_SPAN.finditer(line)]
        for text in texts:
            for missing in missing_paths(text, root):
                problems.append((number, f'{missing} does not exist'))
        if in_block:
            continue
        for target in LINK.findall(CODE_SPAN.sub('', line)):
            if re.match(r'[a-z]+:', target) or target.startswith('#'):
                continue
            file_part, _, anchor = target.partition('#')
            full = osp.normpath(osp.join(base, file_part))
            if not osp.exists(full):
                problems.append((number, f'link target {target} does not exist'))
            elif anchor and full.endswith('.md') and anchor not in heading_anchors(full):
                problems.append(
                    (
                        number,
                        f'link target {target}: no heading with anchor '
                        f'#{anchor} in {osp.relpath(full, root)}',
                    )
                )
    return problems


def heading_anchors(path):
    """GitHub's (and myst's) anchors of the headings of a markdown file."""
    anchors, seen = set(), {}
    in_block = False
    with open(path) as f:
        for line in f:
            if FENCE.match(line.lstrip()):
                in_block = not in_block
            if in_block or not line.startswith('#'):
                continue
            title = line.lstrip('#').strip()
            slug = re.sub(r'[^\w\- ]', '', title.lower().replace('`', '')).replace(' ', '-')
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f'{slug}-{count}')
    return anchors


def main(argv):
    root = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    if not argv:
        raise SystemExit(__doc__)
    failed = False
    for path in argv:
        for number, message in check_markdown(path, root):
            print(f'{path}:{number}: {message}')
            failed = True
    if failed:
        raise SystemExit(1)
    print(f'repository paths and links of {", ".join(argv)}: ok')


# ---------------------------------------------------------------- Sphinx


def check_doctree(app, doctree):
    from docutils import nodes
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    root = app.config.repo_paths_root
    for node in doctree.findall(lambda n: isinstance(n, (nodes.literal, nodes.literal_block))):
        for missing in missing_paths(node.astext(), root):
            logger.warning(
                f'{missing} (a path of the repository) does not exist',
                location=node,
                type='repo_paths',
            )


def setup(app):
    app.add_config_value('repo_paths_root', None, 'env')
    app.connect('doctree-read', check_doctree)
    return dict(version='1.0', parallel_read_safe=True, parallel_write_safe=True)


if __name__ == '__main__':
    main(sys.argv[1:])
