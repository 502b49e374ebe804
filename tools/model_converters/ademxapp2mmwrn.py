"""Convert the authors' (ademxapp) MXNet weights to an mmwrn checkpoint.

    python tools/model_converters/ademxapp2mmwrn.py SRC.params DST.pth --config CONFIG

SRC is one of ademxapp's ``.params`` files, e.g.
``ilsvrc-cls_rna-a1_cls1000_ep-0001.params`` (classifier: use a
configs/wider_resnet_cls config) or ``voc_rna-a1_cls21_s8_ep-0001.params``
(segmenter: use the matching configs/wider_resnet_seg/twoconv_* config). The
file is read with numpy (no MXNet needed); every parameter is mapped, the result
is checked against the config's model (names and shapes; BN eps 1.001e-5; Model
A's unpadded pools) and written with ``meta.dataset_meta``, so that
``mmpretrain.get_model(CONFIG, pretrained=DST)`` or
``mmseg.apis.init_model(CONFIG, DST)`` load it. Unused or missing parameters are
listed, and a mismatch stops the conversion.
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmengine.config import Config, DictAction  # noqa: E402

from mmwrn.converters import (ConversionError, NDArrayFileError,  # noqa: E402
                              convert_ademxapp, convert_and_save, load_ndarray_list)
from mmwrn.converters.ademxapp import check_ademxapp_model  # noqa: E402

HOST_OF_KIND = {'classifier': 'mmpretrain', 'segmentor': 'mmseg'}


def convert(src, dst, config, cfg_options=None):
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    state, unused, kind = convert_ademxapp(load_ndarray_list(src))
    if cfg.get('default_scope') != HOST_OF_KIND[kind]:
        raise ConversionError(
            f'{src} holds a {kind}, but {config} is a {cfg.get("default_scope")} config; '
            f'use a {HOST_OF_KIND[kind]} config ('
            f'{"configs/wider_resnet_cls" if kind == "classifier" else "configs/wider_resnet_seg"})')
    return convert_and_save(state, unused, cfg, dst, src, check_model=check_ademxapp_model)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='ademxapp .params file')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--config', required=True, help='the mmwrn config to load it with')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    try:
        convert(args.src, args.dst, args.config, args.cfg_options)
    except (ConversionError, NDArrayFileError, FileNotFoundError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
