"""Convert the authors' (ademxapp) MXNet weights to an mmwrn checkpoint.

    python tools/model_converters/ademxapp2mmwrn.py SRC.params DST.pth --config CONFIG
        [--arch a|a1] [--init-only]

SRC is one of ademxapp's ``.params`` files (read with numpy; no MXNet needed):

* ``ilsvrc-cls_rna-a_cls1000_ep-0001.params`` (Model A):
  configs/wider_resnet_cls/wider-resnet38-a_4xb64_in1k.py;
* ``ilsvrc-cls_rna-a1_cls1000_ep-0001.params`` (Model A1):
  configs/wider_resnet_cls/wider-resnet38-a1_4xb64_in1k.py, or a
  configs/wider_resnet_seg/twoconv_wider-resnet38-a1-d8_* config (the classifier
  is dropped; the backbone dilated as ademxapp dilates it);
* ``{voc,cityscapes,ade20k}_rna-a1_cls{C}_s8_ep-0001.params`` (segmenters):
  the twoconv_wider-resnet38-a1-d8_* config of that dataset.

Model A and A1 have the same parameters: the variant of a classifier comes
from its published file name, or ``--arch``. The config's model is checked
against the network the file belongs to: names and shapes, and every setting
that changes its function (variant, Model A's unpadded pools, BN eps
1.001e-5, ReLU, ademxapp's dilation rule and output stride, the head); a
mismatch stops with the setting, the value needed and the configs that fit.
``--init-only`` converts into a differing config anyway, for fine-tuning only
(printed, and recorded in ``meta.converted_from``). The result loads with
``mmpretrain.get_model(CONFIG, pretrained=DST)`` or
``mmseg.apis.init_model(CONFIG, DST)``.
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmengine.config import Config, DictAction  # noqa: E402

from mmwrn.converters import (  # noqa: E402
    ConversionError,
    NDArrayFileError,
    convert_ademxapp,
    convert_and_save,
    load_ndarray_list,
)
from mmwrn.converters.ademxapp import identify_ademxapp  # noqa: E402
from mmwrn.utils.outputs import OutputError, check_output  # noqa: E402

SOURCE_HEAD = {'classifier': 'linear', 'segmentor': 'twoconv'}


def convert(src, dst, config, arch=None, init_only=False, cfg_options=None):
    check_output(dst, [src, config if isinstance(config, str) else config.filename])
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    state, unused, kind = convert_ademxapp(load_ndarray_list(src))
    source = identify_ademxapp(src, kind, arch)
    print(f'{src}: ademxapp {kind}, {source}')
    return convert_and_save(
        state,
        unused,
        cfg,
        dst,
        src,
        source,
        'ademxapp',
        source_head=SOURCE_HEAD[kind],
        init_only=init_only,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='ademxapp .params file')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--config', required=True, help='the mmwrn config to load it with')
    parser.add_argument(
        '--arch',
        choices=('a', 'a1'),
        help='Model A or A1, for a classifier file whose name does not say',
    )
    parser.add_argument(
        '--init-only',
        action='store_true',
        help='convert into a config that builds a different network, as an '
        'initialisation for fine-tuning (recorded in meta)',
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    try:
        convert(args.src, args.dst, args.config, args.arch, args.init_only, args.cfg_options)
    except (ConversionError, NDArrayFileError, FileNotFoundError, OutputError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
