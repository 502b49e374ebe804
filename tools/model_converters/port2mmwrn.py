"""Convert a PyTorch port's WiderResNet-38 checkpoint (IABN, NVIDIA or PSA) to mmwrn.

    python tools/model_converters/port2mmwrn.py SRC DST --config CONFIG [--format iabn|nv|psa]

* IABN (mapillary/inplace_abn ``wider_resnet38*.pth.tar``) and NV
  (NVIDIA/semantic-segmentation ``wider_resnet38.pth.tar``): backbone and, when
  present, the ImageNet classifier (``classifier.fc`` -> ``head.fc``).
* PSA (jiwoon-ahn/psa ``resnet38d``): backbone only.

The format is detected from the parameter names unless given. The result is
checked against CONFIG's model; parameters the source lacks outside the backbone
(a segmentation head, say) keep their initialisation and are listed.
Notes: IABN's weights were trained with leaky ReLU (0.01) inside in-place ABN
(``act_cfg=dict(type='LeakyReLU', negative_slope=0.01)`` reproduces them); IABN
strides the 3x3 of a bottleneck where mmwrn (as ademxapp) strides its first 1x1,
which matters only for a strided B6 (output stride 32 with A1/A2).
"""
import argparse
import os.path as osp
import pickle
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmengine.config import Config, DictAction  # noqa: E402

from mmwrn.checkpoint import safe_load  # noqa: E402
from mmwrn.converters import ConversionError, convert_and_save, convert_port  # noqa: E402
from mmwrn.converters.ports import FORMATS  # noqa: E402


def convert(src, dst, config, fmt=None, cfg_options=None):
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    try:
        checkpoint = safe_load(src, map_location='cpu')
    except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
        raise ConversionError(f'{src} is not a PyTorch checkpoint ({e})') from None
    state, unused, fmt = convert_port(checkpoint, fmt)
    print(f'{src}: {fmt} format')
    return convert_and_save(state, unused, cfg, dst, src,
                            optional_missing=('head.', 'decode_head.', 'auxiliary_head.'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--config', required=True)
    parser.add_argument('--format', choices=FORMATS, help='default: detected from the names')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    try:
        convert(args.src, args.dst, args.config, args.format, args.cfg_options)
    except (ConversionError, FileNotFoundError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
