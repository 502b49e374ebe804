"""Benchmark mmwrn side by side with a plain PyTorch implementation of the same
network and with the peers a user would pick instead.

    python tools/analysis_tools/benchmark.py {cls,seg} [--config CONFIG]
        [--batch 2] [--size 224] [--warmup 2] [--repeats 5] [--modes train infer]
        [--impls mmwrn plain peer] [--channels-last] [--amp {bf16,fp16}]
        [--with-cp {none,unit,norm_act} [...]] [--frozen-bn] [--compile] [--tiny]
        [--device cpu|cuda] [--no-timing | --no-memory]

* ``mmwrn``: the config's model as OpenMMLab builds it (ImageClassifier /
  EncoderDecoder), default configs/wider_resnet_cls/wider-resnet38-a1_4xb64_in1k.py
  and the paper's VOC segmenter (with mmseg's plain cross-entropy, at 1/8);
* ``plain``: tools/analysis_tools/plain_wider_resnet.py, torch.nn layers only,
  on the same weights (identical math);
* ``peer``: mmpretrain's ResNet-152 classifier, or mmseg's ResNetV1c-101-D8
  with the same "2 conv." head.

``--with-cp`` runs each implementation in each memory mode given (``none``;
``unit``: every unit / block checkpointed, ``with_cp=True``; ``norm_act``:
mmwrn's ``with_cp='norm_act'``, which the other implementations do not have),
side by side in the same interleaved rounds.

A train step is forward + loss + backward + SGD step; inference is a no-grad
forward. Steps are timed interleaved (mmwrn, plain, peer, peer, plain, mmwrn,
...) after warm-up, so that machine drift affects all alike; the table gives
the median, the spread ((max - min) / median) and the median of the per-round
ratios to the first row with its 95% confidence interval (from 6 rounds on). Peak
memory is measured in a fresh process per implementation, memory mode and mode,
over two steps after a first one. "Allocated" is the memory in use by the
program: CUDA's peak allocated on a GPU; on CPU the C heap in use (glibc
``mallinfo2``) read after every ATen op of forward, backward and optimizer step
(temporaries freed inside one op are not seen). "Step" is that peak minus the
allocated memory before the step (model and optimizer state): activations,
gradients and workspace. On CPU the peak RSS (reset through
/proc/self/clear_refs) is printed too; it adds the libraries and the memory the
allocator keeps after frees.
"""

import argparse
import contextlib
import ctypes
import ctypes.util
import math
import multiprocessing as mp
import os.path as osp
import statistics
import sys
import time

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.join(HERE, '..', '..')
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from torch.nn.modules.batchnorm import _BatchNorm  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402

DEFAULT_CONFIGS = {
    'cls': osp.join(ROOT, 'configs', 'wider_resnet_cls', 'wider-resnet38-a1_4xb64_in1k.py'),
    'seg': osp.join(
        ROOT,
        'configs',
        'wider_resnet_seg',
        'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py',
    ),
}
IMPLS = ('mmwrn', 'plain', 'peer')
# --with-cp: the backbones' with_cp value of each memory mode
CP_MODES = {'none': False, 'unit': True, 'norm_act': 'norm_act'}
CP_IMPLS = {'none': IMPLS, 'unit': IMPLS, 'norm_act': ('mmwrn',)}
# --tiny: 1/8 of the widths, so that a step is mostly framework overhead
TINY_WIDER = dict(
    stem_channels=8,
    channels=((16, 16), (32, 32), (64, 64), (64, 128), (64, 128, 256), (128, 256, 512)),
)
TINY_PEER = dict(stem_channels=8, base_channels=8)


def rss_mib(field='VmRSS'):
    """Current (VmRSS) or peak (VmHWM) resident memory of this process."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f'{field} not in /proc/self/status')


def reset_peak_rss():
    """Linux resets the peak RSS (VmHWM) on writing 5 to clear_refs."""
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            'arena',
            'ordblks',
            'smblks',
            'hblks',
            'hblkhd',
            'usmblks',
            'fsmblks',
            'uordblks',
            'fordblks',
            'keepcost',
        )
    ]


def heap_reader():
    """A function returning the bytes of C heap in use (glibc >= 2.33), or None."""
    try:
        mallinfo2 = ctypes.CDLL(ctypes.util.find_library('c')).mallinfo2
    except (OSError, AttributeError, TypeError):
        return None
    mallinfo2.restype = _MallInfo2

    def in_use():
        info = mallinfo2()
        return info.uordblks + info.hblkhd  # arena chunks + mmapped chunks

    return in_use


class HeapPeak(TorchDispatchMode):
    """Track the peak heap in use, read after every ATen op run under it."""

    def __init__(self, read):
        super().__init__()
        self.read = read
        self.peak = read()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, self.read())
        return out


class Bench:
    """One implementation in one memory mode (``cp``, a key of ``CP_MODES``):
    its model, its inputs and its train / infer step."""

    def __init__(self, impl, cp, args):
        import mmwrn.enable_host_mends  # noqa: F401  (every host mend on)

        self.impl, self.cp, self.args = impl, cp, args
        self.device = torch.device(args.device)
        cfg = Config.fromfile(args.config)
        if args.tiny:
            if cfg.model.backbone.type not in ('WiderResNet', 'mmwrn.WiderResNet'):
                raise ValueError(
                    f'--tiny shrinks a WiderResNet backbone, '
                    f'{args.config} has {cfg.model.backbone.type}'
                )
            cfg.model.backbone.update(TINY_WIDER)
            head = cfg.model.get('head', cfg.model.get('decode_head'))
            head.in_channels = TINY_WIDER['channels'][-1][-1]
        torch.manual_seed(0)
        self.model = getattr(self, f'_build_{args.task}')(impl, cfg).to(self.device)
        if args.frozen_bn:
            self.model.train()
        self.memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
        self.model = self.model.to(memory_format=self.memory_format)
        self.step_model = torch.compile(self.model) if args.compile else self.model
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=1e-3, momentum=0.9)
        # torch.amp.GradScaler from torch 2.3; the CUDA one (same default) before
        grad_scaler = getattr(torch.amp, 'GradScaler', None) or torch.cuda.amp.GradScaler
        self.scaler = grad_scaler(enabled=args.amp == 'fp16')
        n, s = args.batch, args.size
        self.x = torch.randn(n, 3, s, s, device=self.device).to(memory_format=self.memory_format)
        self.num_classes = 1000 if args.task == 'cls' else 21
        g = torch.Generator().manual_seed(0)
        if args.task == 'cls':
            self.label = torch.randint(0, 1000, (n,), generator=g).to(self.device)
        else:
            self.label = torch.randint(0, 21, (n, s, s), generator=g).to(self.device)

    # builders -------------------------------------------------------------
    def _build_cls(self, impl, cfg):
        if impl == 'peer':
            from mmpretrain.registry import MODELS

            backbone = dict(type='ResNet', depth=152, **(TINY_PEER if self.args.tiny else {}))
            cfg = dict(
                type='ImageClassifier',
                backbone=backbone,
                neck=dict(type='GlobalAveragePooling'),
                head=dict(
                    type='LinearClsHead', num_classes=1000, in_channels=self._peer_channels()
                ),
            )
            with DefaultScope.overwrite_default_scope('mmpretrain'):
                return MODELS.build(cfg)
        mm = self._build_mm(cfg, 'mmpretrain')
        if impl == 'mmwrn':
            return mm
        from plain_wider_resnet import PlainClassifier

        plain = PlainClassifier(self._plain_backbone(mm.backbone, 32), cfg.model.head.num_classes)
        plain.backbone.load_state_dict(mm.backbone.state_dict())
        plain.fc.load_state_dict(mm.head.fc.state_dict())
        return plain

    def _build_seg(self, impl, cfg):
        cfg.model.decode_head.loss_decode = dict(type='CrossEntropyLoss', loss_weight=1.0)
        if impl == 'peer':
            head = dict(cfg.model.decode_head, in_channels=self._peer_channels())
            cfg.model.backbone = dict(
                type='ResNetV1c',
                depth=101,
                num_stages=4,
                out_indices=(3,),
                dilations=(1, 1, 2, 4),
                strides=(1, 2, 1, 1),
                contract_dilation=True,
                norm_cfg=dict(type='BN', requires_grad=True),
                **(TINY_PEER if self.args.tiny else {}),
            )
            cfg.model.decode_head = head
            return self._build_mm(cfg, 'mmseg')
        mm = self._build_mm(cfg, 'mmseg')
        if impl == 'mmwrn':
            return mm
        from plain_wider_resnet import PlainSegmenter

        head = cfg.model.decode_head
        plain = PlainSegmenter(
            self._plain_backbone(mm.backbone, mm.backbone.output_stride),
            head.num_classes,
            head.channels,
            head.dilation,
        )
        plain.backbone.load_state_dict(mm.backbone.state_dict())
        plain.conv6a.load_state_dict(mm.decode_head.conv6a.conv.state_dict())
        plain.conv_seg.load_state_dict(mm.decode_head.conv_seg.state_dict())
        return plain

    def _peer_channels(self):
        """Output channels of the peer ResNet: 8 x 4 x its base channels."""
        return 32 * (TINY_PEER['base_channels'] if self.args.tiny else 64)

    def _build_mm(self, cfg, scope):
        registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
        model_cfg = cfg.model.copy()
        model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
        if model_cfg.backbone.get('type') == 'WiderResNet':
            # the same unit configuration for every implementation
            model_cfg.backbone.update(
                norm_cfg=dict(type='BN', eps=1e-5), drop_rates=(0,) * 6, norm_eval=False
            )
        model_cfg.pop('pretrained', None)
        if self.impl == 'mmwrn':
            model_cfg.backbone.with_cp = CP_MODES[self.cp]
        with DefaultScope.overwrite_default_scope(scope):
            model = registry.build(model_cfg)
        if self.impl == 'peer' and self.cp == 'unit':
            for m in model.modules():
                if hasattr(m, 'with_cp'):
                    m.with_cp = True
        return model

    def _plain_backbone(self, backbone, output_stride):
        from plain_wider_resnet import PlainWiderResNet

        if backbone.variant != 'a1':
            raise ValueError('the plain implementation covers Model A1 only')
        plain = PlainWiderResNet(
            backbone.num_units, backbone.channels, backbone.feat_channels[0], output_stride
        )
        if self.cp == 'unit':
            plain.forward = _checkpointed_forward(plain)
        return plain

    # steps ----------------------------------------------------------------
    def _set_mode(self, train):
        self.model.train(train)
        if train and self.args.frozen_bn:
            for m in self.model.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()

    def _autocast(self):
        if not self.args.amp:
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.args.amp == 'bf16' else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _loss(self):
        if self.impl == 'plain':
            out = self.step_model(self.x)
            label = self.label
            if label.dim() == 3:  # the paper's loss resolution, as TwoConvHead
                label = F.interpolate(label[:, None].float(), size=out.shape[2:], mode='nearest')[
                    :, 0
                ].long()
            return F.cross_entropy(out.float(), label, ignore_index=255)
        losses = self.step_model(self.x, self._data_samples(), mode='loss')
        return sum(v for k, v in losses.items() if 'loss' in k)

    def _data_samples(self):
        if not hasattr(self, '_samples'):
            if self.args.task == 'cls':
                from mmpretrain.structures import DataSample

                self._samples = [
                    DataSample().set_gt_label(int(y)).to(self.device) for y in self.label
                ]
            else:
                from mmengine.structures import PixelData
                from mmseg.structures import SegDataSample

                shape = tuple(self.x.shape[2:])
                self._samples = [
                    SegDataSample(
                        metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape),
                        gt_sem_seg=PixelData(data=y[None]),
                    )
                    for y in self.label
                ]
        return self._samples

    def train_step(self):
        # mmengine's OptimWrapper order: the gradients are freed after the
        # step, so they do not live through the next forward
        self._set_mode(True)
        with self._autocast():
            loss = self._loss()
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)

    @torch.no_grad()
    def infer_step(self):
        self._set_mode(False)
        with self._autocast():
            if self.impl == 'plain':
                self.step_model(self.x)
            else:
                self.step_model(self.x, mode='tensor')

    def timed(self, mode):
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        getattr(self, f'{mode}_step')()
        if self.device.type == 'cuda':
            torch.cuda.synchronize()
        return time.perf_counter() - start


def _checkpointed_forward(plain):
    """The plain backbone with every unit checkpointed (as mmwrn's with_cp)."""
    import torch.utils.checkpoint as cp

    def forward(x):
        x = plain.conv1a(x)
        for name in ('b2', 'b3', 'b4', 'b5', 'b6', 'b7'):
            for unit in getattr(plain, name):
                x = cp.checkpoint(unit, x, use_reentrant=False) if x.requires_grad else unit(x)
        return F.relu(plain.bn7(x), inplace=True)

    return forward


def _memory_child(impl, cp, mode, args, queue):
    torch.set_num_threads(args.threads)
    bench = Bench(impl, cp, args)
    # steady state: the first step's lazy imports and optimizer buffers are base
    step = getattr(bench, f'{mode}_step')
    step()
    if bench.device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        for _ in range(2):
            step()
        peak = torch.cuda.max_memory_allocated()
        queue.put(dict(peak=peak / 2**20, step=(peak - base) / 2**20, rss=None))
        return
    read = None if args.compile else heap_reader()  # a dispatch mode would break compile
    reset_peak_rss()
    if read is None:
        for _ in range(2):
            step()
        queue.put(dict(peak=None, step=None, rss=rss_mib('VmHWM')))
        return
    base = read()
    with HeapPeak(read) as tracker:
        for _ in range(2):
            step()
    queue.put(
        dict(peak=tracker.peak / 2**20, step=(tracker.peak - base) / 2**20, rss=rss_mib('VmHWM'))
    )


def measure_memory(impl, cp, mode, args):
    ctx = mp.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_memory_child, args=(impl, cp, mode, args, queue))
    proc.start()
    proc.join()
    if proc.exitcode != 0:
        raise RuntimeError(f'memory measurement of {impl} (with_cp {cp}, {mode}) failed')
    return queue.get()


def median_ci(values, level=0.95):
    """Distribution-free confidence interval of the median (binomial order
    statistics), or None when there are too few values for ``level``."""
    values, n = sorted(values), len(values)
    k, tail = 0, 0.0  # k: how many values are cut off at each end
    while True:
        tail += math.comb(n, k) / 2**n
        if 2 * tail > 1 - level:
            break
        k += 1
    return None if k == 0 else (values[k - 1], values[n - k])


def variants(args):
    """The (implementation, memory mode) pairs to measure, memory mode first."""
    return [(impl, cp) for cp in args.with_cp for impl in args.impls if impl in CP_IMPLS[cp]]


def run(args):
    torch.set_num_threads(args.threads)
    runs = variants(args)
    benches = {v: Bench(*v, args) for v in runs} if args.timing else {}
    results = []
    for mode in args.modes:
        for bench in benches.values():
            for _ in range(args.warmup):
                bench.timed(mode)
        times = {v: [] for v in benches}
        order = list(benches.items())
        for _ in range(args.repeats):
            for v, bench in order:
                times[v].append(bench.timed(mode))
            order.reverse()  # no implementation always runs first (or after the same one)
        for v in runs:
            result = dict(
                impl=v[0],
                cp=v[1],
                mode=mode,
                median=None,
                spread=None,
                ratio=None,
                ratio_ci=None,
                throughput=None,
            )
            if args.timing:
                t = times[v]
                ratios = [a / b for a, b in zip(t, times[runs[0]])]
                result.update(
                    median=statistics.median(t),
                    spread=(max(t) - min(t)) / statistics.median(t),
                    ratio=statistics.median(ratios),
                    ratio_ci=median_ci(ratios) if v != runs[0] else None,
                    throughput=args.batch / statistics.median(t),
                )
            memory = measure_memory(*v, mode, args) if args.memory else {}
            result.update({k: memory.get(k) for k in ('peak', 'step', 'rss')})
            results.append(result)
    return results


def format_table(results, args):
    def fmt(value, spec):
        return '-' if value is None else format(value, spec)

    first = '{} {}'.format(*variants(args)[0])
    lines = [
        f'| impl | with_cp | mode | median (s) | spread | time / {first} (95% CI) | img/s | '
        'peak allocated (MiB) | step allocated (MiB) | peak RSS (MiB) |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for r in results:
        ratio = fmt(r['ratio'], '.3f')
        if r['ratio_ci']:
            ratio += ' ({:.3f}-{:.3f})'.format(*r['ratio_ci'])
        lines.append(
            f'| {r["impl"]} | {r["cp"]} | {r["mode"]} | {fmt(r["median"], ".3f")} '
            f'| {fmt(r["spread"], ".1%")} | {ratio} '
            f'| {fmt(r["throughput"], ".2f")} | {fmt(r["peak"], ".0f")} '
            f'| {fmt(r["step"], ".0f")} | {fmt(r["rss"], ".0f")} |'
        )
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('task', choices=['cls', 'seg'])
    parser.add_argument('--config', help='default: the paper model of the task')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--modes', nargs='+', default=['train', 'infer'], choices=['train', 'infer']
    )
    parser.add_argument(
        '--impls', nargs='+', default=list(IMPLS), choices=IMPLS, help='ratios are to the first'
    )
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--amp', choices=['bf16', 'fp16'])
    parser.add_argument(
        '--with-cp',
        nargs='+',
        default=['none'],
        choices=list(CP_MODES),
        metavar='MODE',
        help='memory modes to run side by side: none; unit (every unit / '
        "block checkpointed); norm_act (mmwrn's with_cp='norm_act' only)",
    )
    parser.add_argument('--frozen-bn', action='store_true', help='BN in eval mode in training')
    parser.add_argument('--compile', action='store_true', help='torch.compile the models')
    parser.add_argument(
        '--tiny',
        action='store_true',
        help='every network at 1/8 of its widths: a step is then mostly '
        'framework overhead (what the OpenMMLab wrappers cost per step)',
    )
    parser.add_argument(
        '--no-memory',
        dest='memory',
        action='store_false',
        help='skip the memory measurement processes',
    )
    parser.add_argument(
        '--no-timing', dest='timing', action='store_false', help='measure memory only'
    )
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads())
    args = parser.parse_args(argv)
    args.config = args.config or DEFAULT_CONFIGS[args.task]
    if args.amp == 'fp16' and not args.device.startswith('cuda'):
        parser.error('--amp fp16 needs a CUDA device; use bf16 on CPU')
    if not (args.timing or args.memory):
        parser.error('--no-timing and --no-memory leave nothing to measure')
    if args.batch < 1 or args.size < 32 or args.repeats < 1:
        parser.error('--batch >= 1, --size >= 32 and --repeats >= 1 are required')
    if not variants(args):
        parser.error(
            f'nothing to run: --with-cp {" ".join(args.with_cp)} is available for '
            f'{sorted({i for cp in args.with_cp for i in CP_IMPLS[cp]})} only'
        )
    return args


def main(argv=None):
    args = parse_args(argv)
    device = (
        torch.cuda.get_device_name()
        if args.device.startswith('cuda')
        else f'CPU, {args.threads} threads'
    )
    print(
        f'# {args.task}: {osp.basename(args.config)}, batch {args.batch}, '
        f'{args.size}x{args.size}, {device}, torch {torch.__version__}, '
        f'switches: '
        + ', '.join(
            k for k in ('channels_last', 'frozen_bn', 'compile', 'tiny') if getattr(args, k)
        )
        + (f' amp={args.amp}' if args.amp else '')
    )
    skipped = [
        f'{impl} {cp}' for cp in args.with_cp for impl in args.impls if impl not in CP_IMPLS[cp]
    ]
    if skipped:
        print('# not available in that implementation, skipped: ' + ', '.join(skipped))
    print(format_table(run(args), args))


if __name__ == '__main__':
    main()
