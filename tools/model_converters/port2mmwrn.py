"""Convert a PyTorch port's WiderResNet-38 checkpoint (IABN, NVIDIA or PSA) to mmwrn.

    python tools/model_converters/port2mmwrn.py SRC DST --config CONFIG
        [--format iabn|nv|psa] [--arch a|a1|a2] [--plain-bn] [--init-only]

* IABN ImageNet ``wider_resnet38`` (``classifier.fc`` present; Model A with
  padded max-pools, leaky ReLU 0.01, in-place ABN):
  configs/wider_resnet_cls/wider-resnet38-a_3rdparty-iabn_in1k.py.
* IABN Mapillary Vistas snapshot ``wide_resnet38_deeplab_vistas.pth.tar``
  (``{'body', 'head', 'cls'}``: A2 at output stride 8, "iabn" dilation, and
  DeeplabV3, converted onto mmseg's ASPPHead):
  configs/wider_resnet_seg/
  deeplabv3_wider-resnet38-a2-d8_3rdparty-iabn_mapillary-v1-65.py.
* NV ``wider_resnet38.pth.tar`` (A2, BN + ReLU; its ImageNet classifier is
  dropped for a segmenter):
  configs/wider_resnet_seg/
  deeplabv3plus_wider-resnet38-a2-d8_3rdparty-nv_4xb2-80k_cityscapes-512x1024.py.
* PSA ``resnet38d`` (ademxapp's A1 renamed, output stride 8, BN eps 1e-5):
  configs/wider_resnet_seg/
  twoconv_wider-resnet38-a1-d8_3rdparty-psa_4xb4-40k_voc12aug-504x504.py
  (or the FCN / PSPNet A1-D8 configs; PSA's CAM classifier ``fc8`` is dropped
  there, with a notice). PSA's classifier ``res38_cls.pth`` with ``fc8`` kept:
  configs/wider_resnet_wsss/
  wider-resnet38-a1-d8-cam_3rdparty-psa_2xb8-15e_voc12aug-448x448.py.
  Layers of other PSA-derived networks (SEAM's PCM ``f8_3``, ``f8_4``,
  ``f9``, ...) are refused, listed.

The format is detected from the names unless given. Model A and A2 have the
same parameters, so the network comes from what the file is (see above); an
IABN backbone with neither classifier nor snapshot parts needs ``--arch``.
IABN trained with in-place ABN, which scales by ``|weight| + 1e-5``: that is
written into the BN weights (``--plain-bn`` for a file trained with IABN's
plain ABN). Like ademxapp2mmwrn.py, the config's model is checked against the
source network (names, shapes, variant, pool padding, activation, BN eps,
dilation rule and output stride, converted head); a mismatch stops with the
setting and the configs that fit, unless ``--init-only``. A bottleneck's
stride sits on its first 1x1 in IABN and NV as in mmwrn and ademxapp (IABN's
first commit strided the 3x3; its Dec 2017 fix moved it).
"""

import argparse
import os.path as osp
import pickle
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmengine.config import Config, DictAction  # noqa: E402

from mmwrn.checkpoint import safe_load  # noqa: E402
from mmwrn.converters import ConversionError, convert_and_save  # noqa: E402
from mmwrn.converters.ports import (  # noqa: E402
    FORMATS,
    IABN_EPS,
    convert_port,
    fold_inplace_abn,
    identify,
    read_checkpoint,
)
from mmwrn.utils.outputs import OutputError, check_output  # noqa: E402


def convert(
    src, dst, config, fmt=None, arch=None, plain_bn=False, init_only=False, cfg_options=None
):
    check_output(dst, [src, config if isinstance(config, str) else config.filename])
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    try:
        checkpoint = safe_load(src, map_location='cpu')
    except (pickle.UnpicklingError, RuntimeError, EOFError) as e:
        raise ConversionError(f'{src} is not a PyTorch checkpoint ({e})') from None
    parts, snapshot = read_checkpoint(checkpoint)
    fmt, source = identify(parts, snapshot, fmt, arch)
    state, unused = convert_port(parts, fmt)
    print(
        f'{src}: {fmt} format, {source}'
        + (' (Vistas snapshot: body, head, cls)' if snapshot else '')
    )
    notes = []
    if fmt == 'iabn' and not plain_bn:
        n = fold_inplace_abn(state)
        notes.append(
            f'in-place ABN: wrote |weight| + {IABN_EPS:g} into {n} BN weights '
            '(--plain-bn for a file trained with plain ABN)'
        )
    elif plain_bn:
        notes.append('--plain-bn: BN weights copied as they are')
    head = (
        'iabn-deeplabv3'
        if 'head' in parts
        else 'cam'
        if 'head.fc8.weight' in state
        else 'linear'
        if any(k.startswith('head.') for k in state)
        else None
    )
    return convert_and_save(
        state,
        unused,
        cfg,
        dst,
        src,
        source,
        fmt,
        source_head=head,
        notes=notes,
        init_only=init_only,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='IABN / NV / PSA checkpoint')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--config', required=True, help='the mmwrn config to load it with')
    parser.add_argument('--format', choices=FORMATS, help='default: detected from the names')
    parser.add_argument(
        '--arch',
        choices=('a', 'a1', 'a2'),
        help='the network, for a file that cannot tell (an IABN backbone '
        'without classifier or snapshot parts)',
    )
    parser.add_argument(
        '--plain-bn',
        action='store_true',
        help='IABN file trained with plain ABN: do not fold |weight| + eps',
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
        convert(
            args.src,
            args.dst,
            args.config,
            args.format,
            args.arch,
            args.plain_bn,
            args.init_only,
            args.cfg_options,
        )
    except (ConversionError, FileNotFoundError, OutputError) as e:
        sys.exit(f'error: {e}')


if __name__ == '__main__':
    main()
