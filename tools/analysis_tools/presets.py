"""Build every WiderResNet preset and print a table computed from the models:
parameters (backbone through bn7, and with mmpretrain's FC-1000 classifier),
GMACs of the backbone at 224x224 (convolutions and FC, i.e. multiply-adds) and
the stride of each output 0-6 (stem, B2 .. B7) measured on a 224x224 input.

    python tools/analysis_tools/presets.py [--depths 38 20 16] [--no-dilated]
"""

import argparse
import os.path as osp
import sys

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmwrn.models import WiderResNet  # noqa: E402
from mmwrn.utils.complexity import count_macs, count_params  # noqa: E402


def preset_rows(depths=(38, 20, 16), dilated=True):
    settings = [(d, v, 32) for d in depths for v in ('a', 'a1', 'a2')]
    if dilated:
        settings += [(38, v, os) for v in ('a1', 'a2') for os in (16, 8)]
    for depth, variant, os in settings:
        with torch.device('meta'):  # no memory, no random init
            model = WiderResNet(
                depth=depth, variant=variant, output_stride=os, out_indices=range(7)
            )
        params = count_params(model)
        macs, outs = count_macs(model, (1, 3, 224, 224))
        strides = [224 // o.shape[-1] for o in outs]
        yield dict(
            preset=f'wider-resnet{depth}-{variant}',
            output_stride=os,
            params=params,
            cls_params=params + 4096 * 1000 + 1000,
            gmacs=macs / 1e9,
            strides=strides,
        )


def format_table(rows):
    lines = [
        '| preset | output stride | params (backbone) | params (+FC-1000) '
        '| GMACs @224 | strides of outputs 0-6 |',
        '|---|---|---|---|---|---|',
    ]
    for r in rows:
        lines.append(
            f'| {r["preset"]} | {r["output_stride"]} | {r["params"]:,} '
            f'| {r["cls_params"]:,} | {r["gmacs"]:.1f} '
            f'| {", ".join(map(str, r["strides"]))} |'
        )
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--depths',
        type=int,
        nargs='+',
        default=[38, 20, 16],
        choices=sorted(WiderResNet.arch_settings),
    )
    parser.add_argument(
        '--no-dilated', action='store_true', help='skip the output-stride 16 / 8 rows of depth 38'
    )
    args = parser.parse_args()
    print(format_table(preset_rows(args.depths, not args.no_dilated)))


if __name__ == '__main__':
    main()
