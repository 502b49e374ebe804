"""Every published source x every shipped config: converting the source's file
into the config must either reproduce the source exactly (every backbone
output and, where the source's head is converted, the logits, <= 1e-5
relative) or be refused. Run at reduced widths with depth 38's layout: the
random source files are saved in each project's own layout and naming and the
converters run as the command-line tools run them.

    python -m tests.helpers.conversion_matrix     # prints the table
"""

import copy
import functools
import glob
import importlib.util
import io
import os
import os.path as osp
import subprocess as sp
import sys
import tempfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from types import SimpleNamespace

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from mmwrn.converters import SOURCES, ConversionError
from tests.helpers import source_networks as R
from tests.helpers.seg import ROOT, shrink

TOL = 1e-5
CONFIGS = sorted(
    glob.glob(osp.join(ROOT, 'configs', 'wider_resnet_cls', '*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'wider_resnet_seg', '*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'wider_resnet_wsss', '*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'wrn_cifar', '*.py'))
    + glob.glob(osp.join(ROOT, 'configs', 'demo', '*.py'))
)
TINY_CLS_HEAD = R.CHANNELS[-1][-1]
INPUT = 64


@functools.lru_cache(maxsize=None)
def _tool(name):
    path = osp.join(ROOT, 'tools', 'model_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'_mmwrn_{name}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(tool, args, cwd, subprocess=False):
    """Run a converter's command line: in a new interpreter (``subprocess``,
    as a user does) or through its ``main()`` here (argument parsing, output
    and exit status alike, without the interpreter start). Returns
    ``returncode``, ``stdout``, ``stderr``."""
    if subprocess:
        return sp.run(
            [sys.executable, tool, *map(str, args)], cwd=cwd, capture_output=True, text=True
        )
    out, err, code = io.StringIO(), io.StringIO(), 0
    argv, here = sys.argv, os.getcwd()
    sys.argv = [tool, *map(str, args)]
    try:
        os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            _tool(osp.splitext(osp.basename(tool))[0]).main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
        if isinstance(e.code, str):
            err.write(e.code + '\n')
    finally:
        sys.argv = argv
        os.chdir(here)
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


class Source:
    """A published file: how to make it (random, reduced widths), its
    reference forward at an output stride, and which converter reads it."""

    def __init__(self, name, key, family, file, make, forward, head):
        self.name, self.key, self.family, self.file = name, key, family, file
        self.make, self.forward, self.head = make, forward, head

    def write(self, folder, cfg):
        """Save the file as its project does; returns (path, content)."""
        content = self.make(cfg)
        path = osp.join(folder, self.file)
        if self.family == 'ademxapp':
            R.write_ndarray_list(path, content)
        else:
            torch.save(content['file'], path)
        return path, content


def _ademxapp(name, variant, kind, classes, file):
    def make(cfg):
        return R.ademxapp_params(
            R.Random(1), head=kind, classes=classes, head_channels=_head_channels(cfg)
        )

    def forward(content, x, output_stride):
        if (variant, output_stride) not in R.ADEMXAPP_LEVEL_BLOCKS:
            return None  # ademxapp builds Model A at output stride 32 and 16 only
        return R.ademxapp_forward(content, x, variant, output_stride)

    return Source(
        name,
        f'ademxapp-{variant}',
        'ademxapp',
        file,
        make,
        forward,
        'linear' if kind == 'cls' else 'twoconv',
    )


def _head_channels(cfg):
    head = cfg.model.get('decode_head')
    return head.channels if head is not None and 'channels' in head else 16


def _iabn_imagenet():
    def make(cfg):
        sd = R.iabn_body(R.Random(2, signed_bn=True), classes=1000)
        return dict(
            sd=sd,
            file=dict(
                state_dict={'module.' + k: v for k, v in sd.items()},
                epoch=90,
                arch='wider_resnet38',
            ),
        )

    def forward(content, x, output_stride):
        if output_stride != 32:
            return None  # IABN's WiderResNet has no dilated form
        return R.iabn_forward(content['sd'], x, 'a')

    return Source(
        'IABN wider_resnet38 (ImageNet, Model A)',
        'iabn-a',
        'iabn',
        'wider_resnet38_ipabn_lr_256.pth.tar',
        make,
        forward,
        'linear',
    )


def _iabn_vistas():
    def make(cfg):
        rng = R.Random(3, signed_bn=True)
        body = R.iabn_body(rng)
        head, cls = R.iabn_deeplab_head(rng, R.CHANNELS[-1][-1], _head_channels(cfg), 65)
        return dict(
            body=body, head=head, cls=cls, file=dict(state_dict=dict(body=body, head=head, cls=cls))
        )

    def forward(content, x, output_stride):
        if output_stride not in (8, 32):
            return None
        outs = R.iabn_forward(content['body'], x, 'a2', dilation=output_stride == 8)
        outs['logits'] = R.iabn_deeplab_forward(content['head'], content['cls'], outs[6])
        return outs

    return Source(
        'IABN wide_resnet38_deeplab_vistas (A2 + DeeplabV3)',
        'iabn-a2',
        'iabn',
        'wide_resnet38_deeplab_vistas.pth.tar',
        make,
        forward,
        'iabn-deeplabv3',
    )


def _nv():
    def make(cfg):
        sd = R.iabn_body(R.Random(4), fmt='nv', classes=1000)
        return dict(sd=sd, file=dict(state_dict={'module.' + k: v for k, v in sd.items()}))

    def forward(content, x, output_stride):
        if output_stride not in (8, 32):
            return None
        return R.iabn_forward(content['sd'], x, 'a2', dilation=output_stride == 8, fmt='nv')

    return Source(
        'NVIDIA wider_resnet38 (A2, ImageNet)',
        'nv-a2',
        'nv',
        'wider_resnet38.pth.tar',
        make,
        forward,
        'linear',
    )


def _psa():
    def make(cfg):
        sd = R.psa_state(R.Random(5))
        return dict(sd=sd, file=sd)

    def forward(content, x, output_stride):
        return R.psa_forward(content['sd'], x) if output_stride == 8 else None

    return Source(
        'PSA resnet38d (res38_cls.pth)', 'psa-a1', 'psa', 'res38_cls.pth', make, forward, None
    )


ALL_SOURCES = [
    _ademxapp(
        'ademxapp ilsvrc-cls_rna-a (Model A)',
        'a',
        'cls',
        1000,
        'ilsvrc-cls_rna-a_cls1000_ep-0001.params',
    ),
    _ademxapp(
        'ademxapp ilsvrc-cls_rna-a1 (Model A1)',
        'a1',
        'cls',
        1000,
        'ilsvrc-cls_rna-a1_cls1000_ep-0001.params',
    ),
    _ademxapp(
        'ademxapp voc_rna-a1_cls21_s8', 'a1', 'seg', 21, 'voc_rna-a1_cls21_s8_ep-0001.params'
    ),
    _ademxapp(
        'ademxapp cityscapes_rna-a1_cls19_s8',
        'a1',
        'seg',
        19,
        'cityscapes_rna-a1_cls19_s8_ep-0001.params',
    ),
    _ademxapp(
        'ademxapp ade20k_rna-a1_cls150_s8',
        'a1',
        'seg',
        150,
        'ade20k_rna-a1_cls150_s8_ep-0001.params',
    ),
    _iabn_imagenet(),
    _iabn_vistas(),
    _nv(),
    _psa(),
]


@contextmanager
def single_thread():
    """Tiny convolutions on a loaded 2-core machine: one thread is ~10x faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


_HOST_CONFIG_PATHS = {}  # (package path, config file) -> (path, error), for the session


@contextmanager
def cached_host_config_lookup():
    """mmengine resolves every ``mmseg::`` / ``mmpretrain::`` base by parsing
    all of the host's metafiles (~2 s each time): remember the answers (for
    the test session) while the matrix or the model zoo parses ~35 configs."""
    from mmengine.config import config as mmengine_config

    original = mmengine_config._get_external_cfg_path
    answers = _HOST_CONFIG_PATHS

    def lookup(package_path, cfg_file):
        key = (package_path, cfg_file)
        if key not in answers:
            try:
                answers[key] = (original(package_path, cfg_file), None)
            except ValueError as e:
                answers[key] = (None, e)
        path, error = answers[key]
        if error is not None:
            raise error
        return path

    mmengine_config._get_external_cfg_path = lookup
    try:
        yield
    finally:
        mmengine_config._get_external_cfg_path = original


def tiny_config(path):
    """The shipped config at reduced widths (depth and every setting kept)."""
    return copy.deepcopy(_tiny_config(path))


@functools.lru_cache(maxsize=None)
def _tiny_config(path):
    cfg = Config.fromfile(path)
    if cfg.default_scope == 'mmseg':
        return shrink(cfg, INPUT)
    backbone = cfg.model.backbone
    if backbone.type == 'WiderResNet':
        backbone.update(stem_channels=R.STEM, channels=R.CHANNELS)
        cfg.model.head.in_channels = TINY_CLS_HEAD
    else:
        backbone.widen_factor = 1
        cfg.model.head.in_channels = 64
    return cfg


def _build(cfg):
    import mmwrn  # noqa: F401

    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return registry.build(cfg.model)


def compare(source, content, cfg, ckpt):
    """Max relative difference over the backbone outputs and, when the
    source's head was converted, the logits; None if the source project has
    no network at the converted checkpoint's output stride."""
    meta = torch.load(ckpt, map_location='cpu', weights_only=True)
    state = meta['state_dict']
    output_stride = meta['meta']['converted_from']['architecture']['output_stride']
    x = torch.randn(2, 3, INPUT, INPUT, generator=torch.Generator().manual_seed(7))
    ref = source.forward(content, x, output_stride)
    if ref is None:
        return None, 'no such network in the source project'
    # every output up to the config's deepest (a -b6 config does not build B7)
    deepest = max(i % 7 for i in cfg.model.backbone.get('out_indices', (6,)))
    backbone_cfg = dict(cfg.model.backbone, out_indices=tuple(range(deepest + 1)), init_cfg=None)
    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        backbone = registry.build(backbone_cfg).eval()
    backbone.load_state_dict({k[9:]: v for k, v in state.items() if k.startswith('backbone.')})
    model = _build(cfg).eval()
    model.load_state_dict(state)
    diffs = {}
    with torch.no_grad():
        for i, out in enumerate(backbone(x)):
            diffs[i] = R.rel_diff(out, ref[i])
        kind = 'segmentor' if hasattr(model, 'decode_head') else 'classifier'
        # the source's head is in the model: a classifier's FC in a classifier,
        # a segmentation head in a segmenter
        head_kept = (
            'logits' in ref
            and source.head is not None
            and (source.head == 'linear') == (kind == 'classifier')
        )
        if head_kept:
            diffs['logits'] = R.rel_diff(model(x, mode='tensor'), ref['logits'])
    worst = max(diffs.values())
    what = 'backbone + logits' if 'logits' in diffs else 'backbone'
    return worst, what


def reason(message):
    """The first line of a converter error that names what differs."""
    lines = message.splitlines()
    setting = next((ln.strip() for ln in lines[1:] if ': the source needs' in ln), None)
    if setting:
        return setting
    if lines[0].startswith('converted weights do not fit'):
        return 'shapes: ' + lines[1].strip()
    if ' does not match ' in lines[0]:
        return 'names: ' + lines[0].rsplit(': ', 1)[-1].replace(' (listed above)', '')
    return lines[0]


def run_pair(source, config, folder):
    """``(status, detail)``: 'exact' (max rel. diff, what was compared),
    'refused' (the error's first setting line) or 'WRONG'."""
    cfg = tiny_config(config)
    path, content = source.write(folder, cfg)
    out = osp.join(folder, 'out.pth')
    log = io.StringIO()
    try:
        with redirect_stdout(log):
            if source.family == 'ademxapp':
                _tool('ademxapp2mmwrn').convert(path, out, cfg)
            else:
                _tool('port2mmwrn').convert(path, out, cfg)
    except ConversionError as e:
        return 'refused', reason(str(e))
    worst, what = compare(source, content, cfg, out)
    if worst is None:
        return 'WRONG', f'converted, but {what}'
    return ('exact' if worst <= TOL else 'WRONG'), (worst, what)


def run_matrix(sources=ALL_SOURCES, configs=CONFIGS):
    rows = []
    with tempfile.TemporaryDirectory() as folder, single_thread(), cached_host_config_lookup():
        for source in sources:
            for config in configs:
                status, detail = run_pair(source, config, folder)
                rows.append((source, osp.relpath(config, ROOT), status, detail))
    return rows


def format_table(rows):
    lines = ['| source | config | result |', '|---|---|---|']
    for source, config, status, detail in rows:
        if status == 'exact':
            worst, what = detail
            result = f'exact: max rel. diff {worst:.1e} ({what})'
        else:
            result = f'{status}: {detail}'
        lines.append(f'| {source.name} | {osp.basename(config)} | {result} |')
    return '\n'.join(lines)


def main():
    rows = run_matrix()
    print(format_table(rows))
    wrong = [r for r in rows if r[2] == 'WRONG']
    print(
        f'\n{len(rows)} pairs: {sum(r[2] == "exact" for r in rows)} exact, '
        f'{sum(r[2] == "refused" for r in rows)} refused, {len(wrong)} silently wrong'
    )
    for source in ALL_SOURCES:
        listed = {c for c in SOURCES[source.key]['configs']}
        print(f'{source.key}: listed fitting configs {len(listed)}')


if __name__ == '__main__':
    main()
