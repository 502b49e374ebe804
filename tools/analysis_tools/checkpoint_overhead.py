"""What exact, preemptible runs add to saving a checkpoint: the bytes and
seconds of the random number state (RNGStateHook) and the time of the atomic
write (temporary file, fsync, rename; mmwrn.engine.atomic_backend.AtomicLocalBackend)
against mmengine's in-place write (LocalBackend), as a markdown table.

    python tools/analysis_tools/checkpoint_overhead.py [CONFIG ...] [--ranks 8]
        [--repeats 3] [--dir DIR]

The checkpoint of each CONFIG (default: the demo segmenter and the paper's
VOC segmenter, A1 at output stride 8) is its model's weights plus one SGD
momentum buffer per parameter, serialised as mmengine does (torch.save to
memory, then the backend's put). Writes go to --dir (default: a temporary
directory); the times include the page cache, as a training job's do.
"""

import argparse
import copy
import functools
import io
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.fileio import LocalBackend  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmwrn.enable_host_mends  # noqa: E402,F401  (registers mmwrn; every host mend on)
from mmwrn.engine import get_rng_state  # noqa: E402
from mmwrn.engine.atomic_backend import AtomicLocalBackend  # noqa: E402

ROOT = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
DEFAULT_CONFIGS = [
    osp.join(
        ROOT, 'configs', 'demo', 'twoconv_wider-resnet16-tiny-a1-d8_1xb8-600_synthvoc-96x96.py'
    ),
    osp.join(
        ROOT,
        'configs',
        'wider_resnet_seg',
        'twoconv_wider-resnet38-a1-d8_4xb4-40k_voc12aug-504x504.py',
    ),
]


def serialise(obj):
    with io.BytesIO() as f:
        torch.save(obj, f)
        return f.getvalue()


def median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def checkpoint_of(config):
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    registry = __import__(f'{cfg.default_scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = registry.build(cfg.model)
    state = model.state_dict()
    momentum = {
        i: {'momentum_buffer': p.detach().clone()} for i, p in enumerate(model.parameters())
    }
    return dict(
        meta=dict(iter=1), state_dict=state, optimizer=dict(state=momentum, param_groups=[])
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='*', default=DEFAULT_CONFIGS)
    parser.add_argument(
        '--ranks', type=int, default=8, help='processes whose states a checkpoint carries'
    )
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--dir', help='where to write (default: a temporary directory)')
    args = parser.parse_args()

    one = get_rng_state()
    get_s = median_seconds(get_rng_state, 100)
    states = dict(world_size=args.ranks, states=[copy.deepcopy(one) for _ in range(args.ranks)])
    rng_bytes = len(serialise(dict(rng_state=states))) - len(serialise({}))
    rng_one = len(serialise(dict(rng_state=dict(world_size=1, states=[one])))) - len(serialise({}))
    print(
        f'random number state: {rng_one} bytes for 1 process, {rng_bytes} for '
        f'{args.ranks}; get_rng_state {get_s * 1e6:.0f} us, serialising the '
        f'{args.ranks} states {median_seconds(lambda: serialise(states), 20) * 1e3:.2f} ms\n'
    )

    print(
        '| config | checkpoint (MB) | + RNG state, 8 ranks | torch.save (s) | '
        'in-place write (s) | atomic write (s) |\n|---|---|---|---|---|---|'
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for config in args.configs:
            checkpoint = checkpoint_of(config)
            save_s = median_seconds(functools.partial(serialise, checkpoint), args.repeats)
            data = serialise(checkpoint)
            path = osp.join(tmp, 'ckpt.pth')
            put_plain = functools.partial(LocalBackend().put, data, path)
            put_atomic = functools.partial(AtomicLocalBackend().put, data, path)
            # interleaved, so that both see the same disk and cache conditions
            plain, atomic = [], []
            for _ in range(args.repeats):
                plain.append(median_seconds(put_plain, 1))
                atomic.append(median_seconds(put_atomic, 1))
            os.remove(path)
            name = osp.splitext(osp.basename(config))[0]
            print(
                f'| {name} | {len(data) / 1e6:.1f} | {100 * rng_bytes / len(data):.3f}% | '
                f'{save_s:.3f} | {statistics.median(plain):.3f} | '
                f'{statistics.median(atomic):.3f} |'
            )
            del checkpoint, data, put_plain, put_atomic


if __name__ == '__main__':
    main()
