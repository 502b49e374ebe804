"""Parameters and multiply-adds (conv + FC, "FLOPs" as mmpretrain/mmseg report
them) of the models of one or more configs, as a markdown table.

    python tools/analysis_tools/get_flops.py CONFIG [CONFIG ...] [--shape 224]
        [--cfg-options k=v ...]

The models are counted in eval mode (a batch of one image) on the meta device.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

import mmwrn  # noqa: E402,F401
from mmwrn.utils.complexity import count_macs, count_params  # noqa: E402


def complexity(config, shape, cfg_options=None):
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    scope = cfg.get('default_scope', 'mmpretrain')
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    with DefaultScope.overwrite_default_scope(scope), torch.device('meta'):
        model = registry.build(cfg.model).eval()  # BN of one image: eval statistics
    params = count_params(model)
    macs, _ = count_macs(model, (1, 3, shape, shape), forward=lambda m, x: m(x, mode='tensor'))
    return params, macs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--shape', type=int, default=224, help='input height = width')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of every config, key=value',
    )
    args = parser.parse_args()
    print(f'| config | Params (M) | FLOPs (G) @{args.shape} |\n|---|---|---|')
    for config in args.configs:
        params, macs = complexity(config, args.shape, args.cfg_options)
        name = osp.splitext(osp.basename(config))[0]
        print(f'| {name} | {params / 1e6:.2f} | {macs / 1e9:.2f} |')


if __name__ == '__main__':
    main()
