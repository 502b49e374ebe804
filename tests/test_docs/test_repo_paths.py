"""docs/en/_ext/repo_paths.py: the check behind tools/build_docs.sh that every
repository path and relative link the documentation names exists. The build
itself runs in tools/run_tests.sh after the suite."""

import importlib.util
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_checker():
    path = osp.join(ROOT, 'docs', 'en', '_ext', 'repo_paths.py')
    spec = importlib.util.spec_from_file_location('_mmwrn_repo_paths', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paths_in_text():
    check = load_checker()
    text = (
        'python tools/train.py configs/demo/ CONFIG --work-dir work_dirs/x; '
        '`tools/no_such_tool.py`, requirements/{build,runtime}.txt, '
        'requirements/{build,nope}.txt, configs/*/metafile.yml|yaml, '
        'configs/*/README.md, configs/*/nothing.md, checkpoints/<name>.pth, '
        'mmwrn/models/.'
    )
    assert check.missing_paths(text, ROOT) == [
        'tools/no_such_tool.py',
        'requirements/{build,nope}.txt',
        'configs/*/nothing.md',
    ]


def test_build_outputs_are_not_required():
    """What tools/build_docs.sh writes is absent from a fresh clone."""
    check = load_checker()
    assert list(check.candidate_paths('open docs/en/_build/html/index.html')) == []
    assert list(check.candidate_paths('docs/en/index.rst')) == ['docs/en/index.rst']


def test_markdown_links_code_spans_and_anchors(tmp_path):
    check = load_checker()
    page = tmp_path / 'page.md'
    page.write_text('# Page\n\n## A `code` heading (x)\n\nSee [here](#a-code-heading-x).\n')
    doc = tmp_path / 'doc.md'
    doc.write_text(
        '\n'.join(
            [
                '# Doc',
                '[ok](page.md#a-code-heading-x) and [web](https://example.org/x.md)',
                '[bad anchor](page.md#nothing) and [gone](missing.md)',
                'run `tools/train.py` and `tools/gone.py`',
                '```bash',
                'python tools/also_gone.py [link](not-a-link.md)',
                '```',
            ]
        )
        + '\n'
    )
    assert check.check_markdown(str(doc), ROOT) == [
        (
            3,
            'link target page.md#nothing: no heading with anchor #nothing in '
            + osp.relpath(str(page), ROOT),
        ),
        (3, 'link target missing.md does not exist'),
        (4, 'tools/gone.py does not exist'),
        (6, 'tools/also_gone.py does not exist'),
    ]


def test_the_front_page_and_changelog_pass():
    check = load_checker()
    for name in ('README.md', 'CHANGELOG.md'):
        assert check.check_markdown(osp.join(ROOT, name), ROOT) == [], name
