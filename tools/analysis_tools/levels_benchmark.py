"""What building only the requested levels saves: multiply-adds and train-step
time of a segmentation config as it is ("requested": WiderResNet builds and
runs the levels up to its deepest output) and with B7 + bn7 computed and
discarded ("+ unused B7": what every config whose deepest output is below
index 6 computed before mmwrn stopped building the unused levels).

    python tools/analysis_tools/levels_benchmark.py CONFIG [--cfg-options k=v ...]
        [--macs-size 512] [--size 256] [--batch 2] [--warmup 1] [--repeats 5]
        [--modes train infer] [--clock wall|cpu] [--no-timing]

Multiply-adds (conv + FC) are counted on the meta device at ``--macs-size``,
for the backbone and the whole model (``mode='tensor'``). A train step is
forward + loss + backward + SGD step, inference a no-grad forward
(``mode='tensor'``), at ``--size``; both variants on the same weights, timed
interleaved in alternating order after warm-up; the table gives the medians
and the median per-round ratio with its 95% confidence interval. An unused B7
runs forward only (no gradient reaches it): in training it costs its forward
multiply-adds, in inference all of them. ``--clock cpu`` times the CPU seconds
of this process (all its threads) instead of wall-clock seconds: on a machine
shared with other jobs it counts less of their load.
"""

import argparse
import os
import os.path as osp
import statistics
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.join(HERE, '..', '..'))
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.model import revert_sync_batchnorm  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmwrn  # noqa: E402,F401
from benchmark import median_ci  # noqa: E402
from mmwrn.utils.complexity import count_macs, count_params  # noqa: E402

VARIANTS = ('requested', '+ unused B7')


class UnusedB7(nn.Module):
    """A backbone built through B7 (index 6 appended to its out_indices) that
    discards that output: the computation of the backbone before it built only
    the requested levels."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        return self.backbone(x)[:-1]


def build(cfg, variant, device=None):
    from mmseg.registry import MODELS

    model_cfg = cfg.model.copy()
    model_cfg.pop('pretrained', None)
    backbone = dict(model_cfg.backbone, init_cfg=None)
    out_indices = tuple(i % 7 for i in backbone['out_indices'])
    if variant != 'requested':
        if 6 in out_indices:
            raise ValueError(f'{cfg.filename} already outputs B7 (index 6): nothing unused')
        backbone['out_indices'] = out_indices + (6,)
    model_cfg.backbone = backbone
    with DefaultScope.overwrite_default_scope('mmseg'), torch.device(device or 'cpu'):
        model = MODELS.build(model_cfg)
    if variant != 'requested':
        model.backbone = UnusedB7(model.backbone)
    return revert_sync_batchnorm(model)  # one process


def complexity(cfg, size):
    rows = {}
    for variant in VARIANTS:
        model = build(cfg, variant, device='meta').eval()  # batch 1: BN in eval mode
        backbone_macs, _ = count_macs(model.backbone, (1, 3, size, size))
        model_macs, _ = count_macs(
            model, (1, 3, size, size), forward=lambda m, x: m(x, mode='tensor')
        )
        rows[variant] = dict(
            backbone_params=count_params(model.backbone),
            backbone_macs=backbone_macs,
            model_macs=model_macs,
        )
    return rows


class Step:
    """A train step or an inference of one model on fixed inputs."""

    def __init__(self, model, batch, size, num_classes, clock=time.perf_counter):
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample

        self.model = model.train()
        self.clock = clock
        self.optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(batch, 3, size, size, generator=g)
        shape = (size, size)
        self.samples = [
            SegDataSample(
                metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape),
                gt_sem_seg=PixelData(
                    data=torch.randint(0, num_classes, (1, size, size), generator=g)
                ),
            )
            for _ in range(batch)
        ]

    def train(self):
        self.model.train()
        start = self.clock()
        losses = self.model(self.x, self.samples, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return self.clock() - start

    @torch.no_grad()
    def infer(self):
        self.model.eval()
        start = self.clock()
        self.model(self.x, mode='tensor')
        return self.clock() - start


def timing(cfg, args):
    torch.manual_seed(0)
    requested = build(cfg, 'requested')
    unused = build(cfg, '+ unused B7')
    # the same weights: the truncated backbone loads from the full one
    requested.load_state_dict(
        {k.replace('backbone.backbone.', 'backbone.'): v for k, v in unused.state_dict().items()},
        strict=True,
    )
    num_classes = cfg.model.decode_head.num_classes
    clock = time.process_time if args.clock == 'cpu' else time.perf_counter
    steps = {
        variant: Step(model, args.batch, args.size, num_classes, clock)
        for variant, model in (('requested', requested), ('+ unused B7', unused))
    }
    times = {}
    for mode in args.modes:
        for step in steps.values():
            for _ in range(args.warmup):
                getattr(step, mode)()
        times[mode] = {v: [] for v in VARIANTS}
        order = list(VARIANTS)
        for _ in range(args.repeats):
            for variant in order:
                times[mode][variant].append(getattr(steps[variant], mode)())
            order.reverse()
    return times


def format_table(rows, times, args):
    modes = list(times) if times else []
    lines = [
        f'| variant | backbone params | backbone GMACs @{args.macs_size} '
        f'| model GMACs @{args.macs_size} | backbone MACs / requested | '
        + ''.join(
            f'{mode} ({"CPU " if args.clock == "cpu" else ""}s) @{args.size}, '
            f'batch {args.batch} | {mode} time / requested (95% CI) | '
            for mode in modes
        ),
        '|---|---|---|---|---|' + '---|---|' * len(modes),
    ]
    ref = rows['requested']
    for variant in VARIANTS:
        r = rows[variant]
        cells = []
        for mode in modes:
            t = times[mode]
            ratios = [a / b for a, b in zip(t[variant], t['requested'])]
            ratio_cell = f'{statistics.median(ratios):.3f}'
            ci = median_ci(ratios) if variant != 'requested' else None
            if ci:
                ratio_cell += ' ({:.3f}-{:.3f})'.format(*ci)
            cells += [f'{statistics.median(t[variant]):.3f}', ratio_cell]
        lines.append(
            f'| {variant} | {r["backbone_params"]:,} | {r["backbone_macs"] / 1e9:.1f} '
            f'| {r["model_macs"] / 1e9:.1f} '
            f'| {r["backbone_macs"] / ref["backbone_macs"]:.2f} | '
            + ''.join(f'{c} | ' for c in cells)
        )
    return '\n'.join(line.rstrip() for line in lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='an mmseg config with a WiderResNet backbone')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value',
    )
    parser.add_argument(
        '--macs-size', type=int, default=512, help='input height = width for the multiply-adds'
    )
    parser.add_argument('--size', type=int, default=256, help='input size of the train step')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--modes', nargs='+', default=['train', 'infer'], choices=['train', 'infer']
    )
    parser.add_argument(
        '--clock',
        choices=['wall', 'cpu'],
        default='wall',
        help='wall-clock seconds, or CPU seconds of this process',
    )
    parser.add_argument(
        '--no-timing', dest='timing', action='store_false', help='multiply-adds only'
    )
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    if args.batch < 1 or args.size < 32 or args.repeats < 1:
        parser.error('--batch >= 1, --size >= 32 and --repeats >= 1 are required')
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    b = cfg.model.backbone
    print(
        f'# {osp.basename(args.config)}: depth {b.get("depth", 38)}, variant '
        f'{b.get("variant", "a1")}, output stride {b.get("output_stride", 32)}, '
        f'out_indices {tuple(b.out_indices)}; CPU, {args.threads} threads, '
        f'torch {torch.__version__}; load average {os.getloadavg()[0]:.1f}'
    )
    rows = complexity(cfg, args.macs_size)
    times = timing(cfg, args) if args.timing else None
    print(format_table(rows, times, args))
    if times:
        print(f'# load average at the end {os.getloadavg()[0]:.1f}')


if __name__ == '__main__':
    main()
