"""Which WiderResNet ``out_indices`` / ``output_stride`` replace the ResNet of
each ResNet-based model of the installed mmseg (``_base_/models``), as a
markdown table (docs/en/user_guides/segmentation.md), computed by ``mmwrn.utils.resnet_decoders``.

    python tools/analysis_tools/decoder_mapping.py
"""

import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from mmengine.config import Config  # noqa: E402

from mmwrn.utils.resnet_decoders import (  # noqa: E402
    UNSUPPORTED,
    find_resnet,
    mmseg_resnet_models,
    swap_in_wider_resnet,
)


def _heads(model):
    heads = []
    for key in ('decode_head', 'auxiliary_head'):
        value = model.get(key)
        for head in value if isinstance(value, (list, tuple)) else [value]:
            if head:
                heads.append(f'{head["type"]}{" (aux)" if key == "auxiliary_head" else ""}')
    return ', '.join(heads)


def _tuple(value):
    return '(' + ', '.join(map(str, value)) + ')'


def mapping_table():
    lines = [
        '| mmseg base model | heads | ResNet `out_indices` | WiderResNet `out_indices` '
        '| `output_stride` | other changes |',
        '|---|---|---|---|---|---|',
    ]
    for name, path in mmseg_resnet_models().items():
        model = Config.fromfile(path).model
        backbone_type = model.backbone.type
        if backbone_type in UNSUPPORTED:
            lines.append(
                f'| `{name}` | {_heads(model)} | - | unsupported | - '
                f'| {UNSUPPORTED[backbone_type]} |'
            )
            continue
        _, resnet = find_resnet(model)
        swapped = swap_in_wider_resnet(model)
        wider = swapped.backbone.get('backbone_cfg', swapped.backbone)
        if 'backbone_cfg' in model.backbone:
            b = swapped.backbone
            notes = (
                f'as `backbone_cfg` of {backbone_type} (ResNet-18 there: 4x fewer '
                f'channels), whose `context_channels` become {_tuple(b.context_channels)}'
                f' and `spatial_channels` {_tuple(b.spatial_channels)}'
            )
        elif model.get('neck'):
            notes = f"none: the {model.neck.type} neck's `in_channels` are ResNet-50's"
        else:
            notes = "none: the heads' `in_channels` are ResNet-50's"
        lines.append(
            f'| `{name}` | {_heads(model)} | {_tuple(resnet.out_indices)} '
            f'| {_tuple(wider["out_indices"])} | {wider["output_stride"]} | {notes} |'
        )
    return '\n'.join(lines)


if __name__ == '__main__':
    print(mapping_table())
