"""Wide Residual Networks WRN-d-k (Zagoruyko & Komodakis, 2016): the CIFAR
family, built from the same pre-activation unit as the Wider ResNets.

Named like mmpretrain's ``ResNet_CIFAR``: it is neither :class:`WiderResNet`
nor mmpretrain's ImageNet WRN-50-2 (``configs/wrn``, a ResNet with wider
bottlenecks). ``type='WideResNet'``, its first name, still builds it with a
deprecation warning."""

import warnings
from typing import Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer

from mmwrn.registry import BACKBONE_HOSTS, register_model
from ..utils import PreActResidualUnit
from ..utils.args import check_bool, check_cfg, check_number, got
from ..utils.preact_unit import check_with_cp
from .base_backbone import BaseBackbone


@register_model(hosts=BACKBONE_HOSTS)
class WideResNet_CIFAR(BaseBackbone):
    """WRN-d-k backbone for 32x32 inputs.

    A 3x3 stem conv (3 -> 16), three groups of ``n = (depth - 4) / 6``
    ``b33`` pre-activation units of widths 16k, 32k, 64k and strides 1, 2, 2
    (on the first 3x3 of each group), then a final norm + activation. Dropout
    sits between the two convs of every unit, as in the paper.

    Outputs, selected by ``out_indices``: 0 the stem (16 channels, stride 1),
    1-3 the groups (16k / 32k / 64k channels, strides 1 / 2 / 4); index 3 is
    returned after the final norm + activation (what the classifier pools).
    Only the groups up to the deepest output are built (the final norm with
    group 3 only); a checkpoint of the full network still loads, skipping the
    keys of what is not built with one log line (see :class:`WiderResNet`).

    Args:
        depth (int): Network depth d, with (d - 4) divisible by 6 (e.g. 16,
            22, 28, 40). Default: 28.
        widen_factor (int): Width k. Default: 10.
        drop_rate (float): Dropout before the second conv of every unit.
            Default: 0.
        in_channels (int): Input channels. Default: 3.
        stem_channels (int): Channels of the stem conv. Default: 16.
        out_indices (Sequence[int]): Outputs to return, in this order, from 0
            to 3 (or -4 to -1); groups after the deepest are not built.
            Default: ``(3, )``.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k in 1-3 the stem
            and the first k groups (3 includes the final norm); at most the
            deepest of ``out_indices``. Default: -1.
        norm_eval (bool): Keep norm layers in eval mode while training.
            Default: False.
        with_cp (bool | str): Recompute in backward to save memory (same
            outputs, gradients and BN statistics): ``True`` whole units,
            ``'norm_act'`` only norm + activation (+ dropout) of every conv
            stage (see :class:`PreActResidualUnit`). Default: False.
        conv_cfg (dict, optional): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: ``dict(type='BN')``.
        act_cfg (dict): Activation config.
            Default: ``dict(type='ReLU', inplace=True)``.
        pretrained (str, optional): Deprecated checkpoint path, as in mmseg's
            backbones (becomes ``init_cfg=dict(type='Pretrained', ...)``).
            Default: None.
        init_cfg (dict or list[dict], optional): Initialization config.
            Default: None: Kaiming normal for convs, constant 1 for norm
            weights.
    """

    def __init__(
        self,
        depth: int = 28,
        widen_factor: int = 10,
        drop_rate: float = 0.0,
        in_channels: int = 3,
        stem_channels: int = 16,
        out_indices: Sequence[int] = (3,),
        frozen_stages: int = -1,
        norm_eval: bool = False,
        with_cp: Union[bool, str] = False,
        conv_cfg: Optional[dict] = None,
        norm_cfg: dict = dict(type='BN', requires_grad=True),
        act_cfg: dict = dict(type='ReLU', inplace=True),
        pretrained: Optional[str] = None,
        init_cfg=None,
    ):
        super().__init__(pretrained=pretrained, init_cfg=init_cfg)
        if isinstance(depth, bool) or not isinstance(depth, int):
            raise TypeError(
                f'depth must be an int 6n + 4 with n >= 1 (10, 16, 22, 28, 40, '
                f'...), got {got(depth)}'
            )
        if depth < 10 or (depth - 4) % 6:
            raise ValueError(
                f'WRN depth must be 6n + 4 with n >= 1 (10, 16, 22, 28, 40, ...), got {depth}'
            )
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, int):
            raise TypeError(f'widen_factor must be a positive int, got {got(widen_factor)}')
        if widen_factor < 1:
            raise ValueError(f'widen_factor must be a positive int, got {widen_factor}')
        check_number('drop_rate', drop_rate, float, 0, 1, high_open=True)
        check_number('in_channels', in_channels, int, 1)
        check_number('stem_channels', stem_channels, int, 1)
        check_number('frozen_stages', frozen_stages, int)  # its range: below
        check_bool('norm_eval', norm_eval)
        check_cfg('conv_cfg', conv_cfg)
        check_cfg('norm_cfg', norm_cfg, optional=False)
        check_cfg('act_cfg', act_cfg)
        if isinstance(out_indices, int) and not isinstance(out_indices, bool):
            out_indices = (out_indices,)
        if (
            isinstance(out_indices, (str, bytes))
            or not isinstance(out_indices, Sequence)
            or any(isinstance(i, bool) or not isinstance(i, int) for i in out_indices)
        ):
            raise TypeError(
                f'out_indices must be an int or a sequence of ints, 0 (stem) .. 3 '
                f'or -4 .. -1, got {got(out_indices)}'
            )
        if len(out_indices) == 0 or any(i not in range(-4, 4) for i in out_indices):
            raise ValueError(
                f'out_indices must be a non-empty sequence of 0 (stem) .. 3 '
                f'(last group after the final norm) or -4 .. -1, '
                f'got {out_indices}'
            )
        self.out_indices = tuple(i % 4 for i in out_indices)
        check_with_cp(with_cp)  # also where no unit is built (out_indices=(0, ))
        # groups 1 .. num_groups are built, the final norm with group 3 only
        self.num_groups = max(self.out_indices)
        if not -1 <= frozen_stages <= self.num_groups:
            raise ValueError(
                f'frozen_stages must be in -1..{self.num_groups} for out_indices '
                f'{self.out_indices} (groups after index {self.num_groups} are not '
                f'built; -1..3 with index 3), got {frozen_stages}'
            )
        self.depth = depth
        self.widen_factor = widen_factor
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        num_units = (depth - 4) // 6
        widths = tuple(w * widen_factor for w in (16, 32, 64))
        self.feat_channels = (stem_channels,) + widths
        self.out_channels = tuple(self.feat_channels[i] for i in self.out_indices)

        self.stem = build_conv_layer(conv_cfg, in_channels, stem_channels, 3, padding=1, bias=False)
        ch_in = stem_channels
        for g, (width, stride) in enumerate(zip(widths[: self.num_groups], (1, 2, 2)), 1):
            units = []
            for u in range(num_units):
                units.append(
                    PreActResidualUnit(
                        ch_in,
                        (width, width),
                        stride=stride if u == 0 else 1,
                        drop_rate=drop_rate,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg,
                        with_cp=with_cp,
                    )
                )
                ch_in = width
            self.add_module(f'group{g}', nn.Sequential(*units))
        if self.num_groups == 3:
            self.norm_out = build_norm_layer(norm_cfg, ch_in)[1]
            self.act_out = build_activation_layer(act_cfg)
        self._freeze_stages()

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        frozen = [self.stem] + [
            getattr(self, f'group{g}') for g in range(1, self.frozen_stages + 1)
        ]
        return frozen + [self.norm_out] if self.frozen_stages == 3 else frozen

    def unbuilt_modules(self):
        return tuple(f'group{g}' for g in range(self.num_groups + 1, 4)) + (
            ('norm_out',) if self.num_groups < 3 else ()
        )

    def forward(self, x):
        x = self.stem(x)
        feats = {0: x} if 0 in self.out_indices else {}
        for g in range(1, self.num_groups + 1):
            x = getattr(self, f'group{g}')(x)
            if g in self.out_indices and g < 3:
                feats[g] = x
        if self.num_groups == 3:
            feats[3] = self.act_out(self.norm_out(x))
        return tuple(feats[i] for i in self.out_indices)


@register_model(name='WideResNet')
def build_deprecated_wide_resnet(**kwargs) -> WideResNet_CIFAR:
    """``type='WideResNet'``: the first name of :class:`WideResNet_CIFAR`."""
    warnings.warn(
        "type='WideResNet' is deprecated: it was renamed 'WideResNet_CIFAR' "
        "(the CIFAR WRN-d-k; not WiderResNet, not mmpretrain's WRN-50-2)",
        FutureWarning,
        stacklevel=2,
    )
    return WideResNet_CIFAR(**kwargs)
