"""Build every WiderResNet preset and print a table computed from the models:
parameters (backbone through bn7, and with mmpretrain's FC-1000 classifier),
GMACs of the backbone at 224x224 (convolutions and FC, i.e. multiply-adds) and
the stride of each output 0-6 (stem, B2 .. B7) measured on a 224x224 input.

    python tools/analysis_tools/presets.py [--depths 38 20 16] [--no-dilated]
"""
import argparse

import torch
import torch.nn as nn

from mmwrn.models import WiderResNet


def count_macs(model, input_shape):
    """Multiply-adds of every Conv2d and Linear, counted with forward hooks on
    the meta device (no real computation)."""
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total[0] += output.numel() * module.in_channels // module.groups * k
        else:
            total[0] += output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        outs = model(torch.empty(*input_shape, device='meta'))
    for h in handles:
        h.remove()
    return total[0], outs


def preset_rows(depths=(38, 20, 16), dilated=True):
    settings = [(d, v, 32) for d in depths for v in ('a', 'a1', 'a2')]
    if dilated:
        settings += [(38, v, os) for v in ('a1', 'a2') for os in (16, 8)]
    for depth, variant, os in settings:
        with torch.device('meta'):  # no memory, no random init
            model = WiderResNet(depth=depth, variant=variant, output_stride=os,
                                out_indices=range(7))
        params = sum(p.numel() for p in model.parameters())
        macs, outs = count_macs(model, (1, 3, 224, 224))
        strides = [224 // o.shape[-1] for o in outs]
        yield dict(preset=f'wider-resnet{depth}-{variant}', output_stride=os,
                   params=params, cls_params=params + 4096 * 1000 + 1000,
                   gmacs=macs / 1e9, strides=strides)


def format_table(rows):
    lines = ['| preset | output stride | params (backbone) | params (+FC-1000) '
             '| GMACs @224 | strides of outputs 0-6 |',
             '|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f"| {r['preset']} | {r['output_stride']} | {r['params']:,} "
                     f"| {r['cls_params']:,} | {r['gmacs']:.1f} "
                     f"| {', '.join(map(str, r['strides']))} |")
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--depths', type=int, nargs='+', default=[38, 20, 16],
                        choices=sorted(WiderResNet.arch_settings))
    parser.add_argument('--no-dilated', action='store_true',
                        help='skip the output-stride 16 / 8 rows of depth 38')
    args = parser.parse_args()
    print(format_table(preset_rows(args.depths, not args.no_dilated)))


if __name__ == '__main__':
    main()
