"""The GPU report: the ``cuda`` tests, then throughput, model FLOP utilisation
and memory of mmwrn side by side with the plain PyTorch implementation and the
peers (benchmark.py's measurements), as one markdown report.

    python tools/analysis_tools/gpu_report.py [--device cuda|cpu] [--out FILE]
        [--warmup 3] [--repeats 10] [--[no-]memory] [--skip-tests] [--peak-tflops X]

``tools/analysis_tools/gpu_report.sh`` runs the set-up (docs/en/get_started.md) first. Rows:

* classifier, Model A1 at 224x224, batch 64, bf16 autocast, channels_last:
  training and inference (mmwrn / plain / ResNet-152);
* the paper's segmenter (A1, output stride 8, "2 conv." head) at 504x504,
  batch 4, fp32 (torch's defaults: TF32 convolutions on a GPU): a training
  step in each memory mode, side by side (``with_cp`` none / unit /
  norm_act; mmwrn / plain / ResNetV1c-101-D8, norm_act in mmwrn only).

Model FLOPs are the multiply-adds of every conv and linear layer x 2 (x 3 for
a training step: backward costs two forwards; with_cp's recomputation is not
counted, as usual for MFU). MFU = model FLOP/s over the device's dense bf16
tensor-core peak (PEAK_BF16_TFLOPS, or --peak-tflops); given for bf16 rows
only. ``--device cpu`` runs every part but the CUDA calls at tiny sizes (every
network at 1/8 width, 64x64, batch 2), for CI: its numbers mean nothing, and
it skips the memory processes (a fresh process per row costs CI ~10 s each;
--memory runs them, measuring the CPU heap; tests/test_tools/test_benchmark.py
covers them). The exit status is 1 when a ``cuda`` test failed.
"""

import argparse
import copy
import datetime
import math
import os
import os.path as osp
import platform
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(osp.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import torch  # noqa: E402

import benchmark  # noqa: E402
import mmwrn.enable_host_mends  # noqa: E402,F401  (on now: its log precedes the report)
from mmwrn.utils.complexity import count_macs  # noqa: E402

# Dense (no sparsity) bf16 tensor-core peak with fp32 accumulation, TFLOP/s,
# from NVIDIA's datasheets, by a pattern of torch.cuda.get_device_name().
# Variants whose figure differs (H100/H200 NVL: lower clocks) are left out on
# purpose: an unknown device gets no MFU rather than a wrong one.
PEAK_BF16_TFLOPS = (
    (r'H100 (SXM|80GB HBM3)', 989.4, 'H100 SXM5'),
    (r'H100 PCIe', 756.5, 'H100 PCIe'),
    (r'H200(?!.*NVL)', 989.4, 'H200 SXM'),
    (r'A100', 312.0, 'A100 (SXM4 / PCIe)'),
    (r'L40S', 362.05, 'L40S'),
    (r'RTX 4090', 165.2, 'GeForce RTX 4090'),
)
IMPL_NAMES = {
    'cls': {'mmwrn': 'mmwrn A1', 'plain': 'plain PyTorch A1', 'peer': 'ResNet-152'},
    'seg': {'mmwrn': 'mmwrn A1-D8', 'plain': 'plain PyTorch A1-D8', 'peer': 'ResNetV1c-101-D8'},
}


def peak_tflops(device_name):
    """(peak bf16 dense TFLOP/s, the datasheet entry) or (None, None)."""
    for pattern, tflops, entry in PEAK_BF16_TFLOPS:
        if re.search(pattern, device_name):
            return tflops, entry
    return None, None


def groups(device, warmup, repeats, memory=True):
    """(title, benchmark.py arguments) of each measured group."""
    common = ['--device', device, '--warmup', str(warmup), '--repeats', str(repeats)]
    common += [] if memory else ['--no-memory']
    if device == 'cpu':  # every part of the GPU run, at sizes CI can afford
        cls = ['cls', '--tiny', '--batch', '2', '--size', '64']
        seg = ['seg', '--tiny', '--batch', '2', '--size', '64']
    else:
        cls = ['cls', '--batch', '64', '--size', '224']
        seg = ['seg', '--batch', '4', '--size', '504']
    return [
        (
            'classifier',
            cls + ['--amp', 'bf16', '--channels-last', '--modes', 'train', 'infer'] + common,
        ),
        ('segmenter', seg + ['--modes', 'train', '--with-cp', 'none', 'unit', 'norm_act'] + common),
    ]


_FLOPS = {}


def model_flops_per_image(impl, args):
    """Model FLOPs of one image's forward (2 x multiply-adds), counted on the
    meta device with the very model benchmark.py times."""
    key = (impl, args.task, args.config, args.tiny, args.size)
    if key not in _FLOPS:
        _FLOPS[key] = _count_flops(impl, args)
    return _FLOPS[key]


def _count_flops(impl, args):
    meta = copy.copy(args)
    meta.device, meta.compile = 'meta', False
    bench = benchmark.Bench(impl, 'none', meta)
    if impl == 'plain':
        forward = None
    else:
        forward = lambda model, x: model(x, mode='tensor')  # noqa: E731
    macs, _ = count_macs(bench.model, (1, 3, args.size, args.size), forward=forward)
    return 2 * macs


def run_cuda_tests(python=sys.executable):
    """Run ``pytest -m cuda``; returns ([(test, outcome, message)], seconds, rc)."""
    with tempfile.TemporaryDirectory() as tmp:
        xml = osp.join(tmp, 'cuda.xml')
        start = time.perf_counter()
        proc = subprocess.run(
            [
                python,
                '-m',
                'pytest',
                'tests/test_cuda',
                '-m',
                'cuda',
                '-q',
                '-p',
                'no:cacheprovider',
                f'--junitxml={xml}',
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if not osp.exists(xml):
            raise RuntimeError(
                f'pytest -m cuda did not run (exit {proc.returncode}):\n'
                + (proc.stdout + proc.stderr)[-3000:]
            )
        results = []
        for case in ET.parse(xml).getroot().iter('testcase'):
            name = case.get('classname', '').replace('.', '/') + '.py::' + case.get('name')
            name = name.replace('tests/', '', 1) if name.startswith('tests/') else name
            outcome, message = 'passed', ''
            for tag in ('failure', 'error', 'skipped'):
                node = case.find(tag)
                if node is not None:
                    outcome = 'failed' if tag == 'failure' else tag
                    message = (
                        node.get('message', '').splitlines()[0][:200] if node.get('message') else ''
                    )
                    break
            results.append((name, outcome, message))
    if proc.returncode not in (0, 1, 5):  # 5: nothing collected
        raise RuntimeError(
            f'pytest -m cuda exited with {proc.returncode}:\n' + (proc.stdout + proc.stderr)[-3000:]
        )
    return results, seconds, proc.stdout


def measure(device, warmup, repeats, peak, memory=True):
    """benchmark.py's measurements, group by group: yields each group's rows."""
    for title, argv in groups(device, warmup, repeats, memory):
        args = benchmark.parse_args(argv)
        flops = {impl: model_flops_per_image(impl, args) for impl in ('mmwrn', 'peer')}
        flops['plain'] = flops['mmwrn']  # the same network (tested: identical math)
        rows = []
        for r in benchmark.run(args):
            step_flops = flops[r['impl']] * (3 if r['mode'] == 'train' else 1)
            mfu = None
            if peak and args.amp == 'bf16' and r['throughput']:
                mfu = r['throughput'] * step_flops / (peak * 1e12)
            rows.append(
                dict(
                    r,
                    model=title,
                    name=IMPL_NAMES[args.task][r['impl']],
                    batch=f'{args.batch} x {args.size}^2',
                    precision=('bf16 autocast' if args.amp == 'bf16' else 'fp32')
                    + (', channels_last' if args.channels_last else ''),
                    with_cp=r['cp'],
                    gflop=step_flops / 1e9,
                    mfu=mfu,
                )
            )
        if device == 'cuda':
            torch.cuda.empty_cache()
        yield rows


def significant(value, digits=3):
    """``value`` with ``digits`` significant digits and no exponent (1234.5 ->
    '1234', 0.04123 -> '0.0412'); '-' for None."""
    if value is None:
        return '-'
    if value == 0:
        return '0'
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    return f'{value:.{decimals}f}'


TABLE_HEADER = (
    '| model | implementation | mode | batch | precision | with_cp | median step (ms) '
    '| time / mmwrn (95% CI) | images/s | model GFLOP / image | MFU (bf16 peak) '
    '| peak allocated (MiB) | step allocated (MiB) |\n' + '|' + '---|' * 13
)


def format_rows(rows):
    def fmt(value, spec):
        return '-' if value is None else format(value, spec)

    lines = []
    for r in rows:
        ratio = fmt(r['ratio'], '.3f')
        if r['ratio_ci']:
            ratio += ' ({:.3f}-{:.3f})'.format(*r['ratio_ci'])
        lines.append(
            f'| {r["model"]} | {r["name"]} | {r["mode"]} | {r["batch"]} | {r["precision"]} '
            f'| {r["with_cp"]} | {significant(r["median"] and r["median"] * 1e3)} | {ratio} '
            f'| {significant(r["throughput"])} | {significant(r["gflop"])} '
            f'| {fmt(r["mfu"], ".1%")} '
            f'| {fmt(r["peak"], ".0f")} | {fmt(r["step"], ".0f")} |'
        )
    return '\n'.join(lines)


def versions():
    import mmcv
    import mmengine
    import mmpretrain
    import mmseg
    import numpy

    try:
        commit = (
            subprocess.run(
                ['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True
            ).stdout.strip()
            or 'unknown'
        )
    except OSError:
        commit = 'unknown'
    return (
        f'torch {torch.__version__} (CUDA {torch.version.cuda}, cuDNN '
        f'{torch.backends.cudnn.version()}), Python {platform.python_version()}, numpy '
        f'{numpy.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, '
        f'mmseg {mmseg.__version__}, mmpretrain {mmpretrain.__version__}, '
        f'mmwrn commit {commit}'
    )


def report(args, emit):
    """Produce the report part by part through ``emit(text)`` (so that what was
    measured survives an interrupted run); returns whether a cuda test failed."""
    if args.device == 'cuda':
        device_name = torch.cuda.get_device_name()
        props = torch.cuda.get_device_properties(0)
        device = f'{device_name}, {props.total_memory / 2**30:.0f} GiB'
        peak, entry = (
            (args.peak_tflops, '--peak-tflops') if args.peak_tflops else peak_tflops(device_name)
        )
    else:
        device = (
            f'CPU ({platform.processor() or platform.machine()}), {torch.get_num_threads()} threads'
        )
        peak, entry = (args.peak_tflops, '--peak-tflops') if args.peak_tflops else (None, None)
    lines = [
        f'# mmwrn GPU report ({args.device})',
        '',
        f'- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC',
        f'- device: {device}',
        f'- software: {versions()}',
        '- command: `python tools/analysis_tools/gpu_report.py ' + ' '.join(args.argv) + '`',
    ]
    if peak:
        lines.append(f'- bf16 dense peak for MFU: {peak:g} TFLOP/s ({entry})')
    elif args.device == 'cuda':
        lines.append(
            f'- MFU omitted: no bf16 peak known for "{device_name}" '
            '(PEAK_BF16_TFLOPS; give one with --peak-tflops)'
        )
    else:
        lines.append('- MFU omitted: CPU run (sizes for CI; the numbers mean nothing)')
    emit('\n'.join(lines) + '\n')
    failed = False
    if not args.skip_tests:
        results, seconds, _ = run_cuda_tests()
        counts = {}
        for _, outcome, _ in results:
            counts[outcome] = counts.get(outcome, 0) + 1
        summary = ', '.join(f'{n} {k}' for k, n in sorted(counts.items())) or 'none collected'
        lines = [
            '',
            f'## `pytest -m cuda`: {summary} ({seconds:.0f} s)',
            '',
            '| test | outcome |',
            '|---|---|',
        ]
        lines += [
            f'| {name} | {outcome}{": " + message if message else ""} |'
            for name, outcome, message in results
        ]
        emit('\n'.join(lines) + '\n')
        failed = bool(counts.get('failed') or counts.get('error')) or not results
    memory = (
        'memory in a fresh process per row, over two steps after a first one '
        '("step" = peak minus what the model and optimizer hold)'
        if args.memory
        else 'memory not measured (--no-memory; the default on CPU)'
    )
    emit(
        '\n'.join(
            [
                '',
                '## Throughput and memory (tools/analysis_tools/benchmark.py)',
                '',
                f'Timed steps interleaved after warm-up (median of {args.repeats}); '
                f"{memory}. Segmenter: fp32 with torch's defaults (cuDNN may use TF32).",
                '',
                TABLE_HEADER,
            ]
        )
        + '\n'
    )
    for rows in measure(args.device, args.warmup, args.repeats, peak, args.memory):
        emit(format_rows(rows) + '\n')
    return failed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--device', choices=['cuda', 'cpu'], default='cuda' if torch.cuda.is_available() else 'cpu'
    )
    parser.add_argument('--out', help='also write the report to this file')
    parser.add_argument('--warmup', type=int, help='default: 3 on cuda, 1 on cpu')
    parser.add_argument('--repeats', type=int, help='default: 10 on cuda, 2 on cpu')
    parser.add_argument(
        '--memory',
        action=argparse.BooleanOptionalAction,
        help='measure memory (a fresh process per row); default: on cuda only',
    )
    parser.add_argument('--skip-tests', action='store_true', help='do not run pytest -m cuda')
    parser.add_argument(
        '--peak-tflops',
        type=float,
        help="the device's dense bf16 peak (TFLOP/s), for a GPU not in "
        'the table (on CPU: only to exercise the MFU column)',
    )
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error(
            '--device cuda: torch.cuda.is_available() is False '
            '(--device cpu runs the report at CI sizes)'
        )
    if args.warmup is None:
        args.warmup = 3 if args.device == 'cuda' else 1
    if args.repeats is None:
        args.repeats = 10 if args.device == 'cuda' else 2
    if args.memory is None:
        args.memory = args.device == 'cuda'
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        open(args.out, 'w').close()

    def emit(text):
        print(text, end='', flush=True)
        if args.out:
            with open(args.out, 'a') as f:
                f.write(text)

    if report(args, emit):
        print('gpu_report: a `cuda` test failed (see the table above)', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
