"""Parameters and multiply-adds (conv + FC, "FLOPs" as mmpretrain/mmseg report
them) of the models of one or more configs, as a markdown table.

    python tools/analysis_tools/get_flops.py CONFIG [CONFIG ...] [--shape 224]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmwrn  # noqa: E402,F401
from mmwrn.utils.complexity import count_macs, count_params  # noqa: E402


def complexity(config, shape):
    cfg = Config.fromfile(config)
    scope = cfg.get('default_scope', 'mmpretrain')
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope), torch.device('meta'):
        model = registry.build(cfg.model)
    params = count_params(model)
    macs, _ = count_macs(model, (1, 3, shape, shape),
                         forward=lambda m, x: m(x, mode='tensor'))
    return params, macs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', type=int, default=224, help='input height = width')
    args = parser.parse_args()
    print(f'| config | Params (M) | FLOPs (G) @{args.shape} |\n|---|---|---|')
    for config in args.configs:
        params, macs = complexity(config, args.shape)
        name = osp.splitext(osp.basename(config))[0]
        print(f'| {name} | {params / 1e6:.2f} | {macs / 1e9:.2f} |')


if __name__ == '__main__':
    main()
