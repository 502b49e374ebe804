"""Wider ResNets of "Wider or Deeper: Revisiting the ResNet Model for Visual
Recognition" (Wu, Shen & van den Hengel): Model A (ResNet-38), A1, A2 and the
shallower depths 16 and 20, with dilation for output stride 16 or 8."""

from typing import Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer

from mmwrn.registry import BACKBONE_HOSTS, register_model
from ..utils import PreActResidualUnit
from ..utils.args import check_bool, check_cfg, check_choice, check_number, check_sequence, got
from ..utils.norm_act_recompute import act_keeping_mask
from ..utils.preact_unit import UNIT_KERNELS, check_with_cp
from .base_backbone import BaseBackbone

LEVEL_NAMES = ('b2', 'b3', 'b4', 'b5', 'b6', 'b7')
DILATION_RULES = ('ademxapp', 'iabn')


@register_model(hosts=BACKBONE_HOSTS)
class WiderResNet(BaseBackbone):
    """Wider ResNet backbone (the "RNA" networks; Model A = ResNet-38).

    A 3x3 stem ``conv1a`` followed by six levels ``b2`` .. ``b7`` of
    pre-activation units (:class:`PreActResidualUnit`) and a final norm +
    activation ``bn7``. B2-B5 use ``b33`` units, B6-B7 ``b131`` bottlenecks.

    Outputs, selected by ``out_indices`` (strides for output stride 32 / 16 / 8;
    channels of the default layout):

    =====  ====================================  ========  =============
    index  feature                               channels  stride
    =====  ====================================  ========  =============
    0      stem ``conv1a``                       64        1
    1      B2 (sum of its last unit)             128       2
    2      B3                                    256       4
    3      B4                                    512       8
    4      B5                                    1024      16 / 16 / 8
    5      B6                                    2048      32 / 16 / 8
    6      B7 after ``bn7`` + activation         4096      32 / 16 / 8
    =====  ====================================  ========  =============

    Index 6 is what the paper's classifier and segmentation head consume;
    indices 1-5 are the raw residual sums (pre-activation networks apply norm
    and activation at the start of the next unit). With Model A and
    ``pool_padding=0`` the sizes are ``floor`` rather than ``ceil`` of the
    input size over the stride (224 -> 111, 55, 27, 13, 6).

    Only the levels up to the deepest output are built (and run): with
    ``out_indices=(2, 3, 4, 5)`` (ResNet-50's 256 / 512 / 1024 / 2048-channel
    layout, what mmseg's multi-level decoders and mmdet's FPN expect) there is
    no ``b7`` and no ``bn7``, so every parameter is used and DDP needs no
    ``find_unused_parameters``. Built levels keep their names. A checkpoint of
    the full network (e.g. a classifier's backbone through
    ``init_cfg=dict(type='Pretrained', prefix='backbone.')``, or ``load_from``)
    still loads: the keys of the levels that are not built are skipped, with one
    log line naming them; any other missing or unexpected key is reported by
    the loader as usual.

    Args:
        depth (int, optional): 16, 20 or 38: the number of units per level
            (see ``arch_settings``). ``None`` when ``num_units`` gives a
            custom layout. Default: 38.
        variant (str): How B2-B6 downsample (``downsample_settings``):
            ``'a'`` 3x3/2 max-pool before each of B2-B6 (Model A);
            ``'a1'`` stride 2 in the first unit of each of B2-B6 (Model A1,
            the authors' recommendation); ``'a2'`` max-pool before B2 and B3,
            strided first unit in B4-B6 (IABN's ``WiderResNetA2``).
            Default: ``'a1'``.
        in_channels (int): Input image channels. Default: 3.
        stem_channels (int): Channels of ``conv1a``. Default: 64.
        num_units (Sequence[int], optional): Units in each of the six levels,
            for a custom layout (then pass ``depth=None``). Default: None.
        channels (Sequence[Sequence[int]], optional): Conv output channels of
            the units of each of the six levels: two entries make a ``b33``
            unit, three a ``b131`` bottleneck. Default: None (the paper's
            ``level_channels``).
        width_multiplier (float | Sequence[float]): ademxapp's width
            multiplier, one value or one each for the stem and B2-B5. As in
            ademxapp, widths are scaled and capped at 1024, B5's first conv is
            at least as wide as B4 and its second at least as wide as its
            first; B6 and B7 are not widened. Cannot be combined with
            ``channels``. Default: 1.0.
        output_stride (int): 32, 16 (B6 downsampling replaced by dilation)
            or 8 (B5 and B6). Default: 32.
        dilation_rule (str): How dilation is placed when ``output_stride`` <
            32. ``'ademxapp'`` (the authors' released ``_s8`` models): the
            first conv of a de-strided level's first unit keeps the previous
            dilation, every later conv of the level gets the new one.
            ``'iabn'`` (IABN / NVIDIA ports): every conv of the level gets the
            new dilation. Under both rules a max-pool whose downsampling is
            removed becomes a 3x3 stride-1 max-pool dilated by the previous
            dilation, as in ademxapp. Default: ``'ademxapp'``.
        drop_rates (Sequence[float]): Dropout before the last conv of every
            unit, one rate per level B2-B7. The paper's segmentation networks
            use ``(0, 0, 0, 0, 0.3, 0.5)``, its classifiers zeros.
            Default: ``(0, ) * 6``.
        dropout_type (str): ``'element'`` (``nn.Dropout``, ademxapp) or
            ``'channel'`` (``nn.Dropout2d``, IABN). Default: ``'element'``.
        pool_padding (int): Padding of Model A / A2's 3x3/2 max-pools, 1 or 0.
            The released Model A weights reproduce their accuracy only with 0
            (an MXNet pooling change). Default: 1.
        out_indices (Sequence[int]): Outputs to return, in this order, from
            0 (stem) to 6 (B7 after ``bn7``); negative indices count from the
            end. Levels after the deepest output are not built.
            Default: ``(6, )``.
        frozen_stages (int): -1 freezes nothing, 0 the stem, k in 1-6 the
            stem and levels B2 .. B(k+1) (6 includes ``bn7``): parameters stop
            requiring gradients and norm layers stay in eval mode. At most the
            deepest of ``out_indices`` (the levels after it are not built).
            Default: -1.
        norm_eval (bool): Keep all norm layers in eval mode (frozen running
            statistics) while training; their affine parameters still train.
            Default: False.
        with_cp (bool | str): Recompute in backward instead of keeping for
            it, to save activation memory; outputs, gradients and BN
            statistics stay the same. ``False``: keep everything.
            ``'norm_act'``: recompute only norm + activation (+ dropout) of
            every conv stage: each stage keeps its norm's input but not its
            conv's input, about half the memory for a few percent of time
            (needs plain ``Conv2d`` convs). ``True``: recompute whole units,
            every conv included: only unit inputs are kept. In both modes the
            full-resolution stem output is not kept either (recomputed with
            B2's first unit unless index 0 is an output). Default: False.
        conv_cfg (dict, optional): Conv layer config. Default: None (Conv2d).
        norm_cfg (dict): Norm layer config, e.g. ``dict(type='SyncBN')`` or
            ``dict(type='GN', num_groups=32)``. ``eps=1.001e-5`` reproduces
            ademxapp's (MXNet's) BN. Default: ``dict(type='BN',
            requires_grad=True)``.
        act_cfg (dict): Activation config.
            Default: ``dict(type='ReLU', inplace=True)``.
        pretrained (str, optional): Deprecated, as in mmseg's backbones: a
            checkpoint path, same as ``init_cfg=dict(type='Pretrained',
            checkpoint=pretrained)`` (with a deprecation warning); cannot be
            combined with ``init_cfg``. mmseg's ``EncoderDecoder`` passes its
            ``model.pretrained`` here. Default: None.
        init_cfg (dict or list[dict], optional): Initialization config.
            Default: None: Kaiming normal (fan_out) for convs, weight 1 / bias
            0 for norm layers. ``dict(type='Pretrained', checkpoint=...,
            prefix='backbone.')`` loads the backbone of a trained model.
    """

    arch_settings = {
        16: (1, 1, 1, 1, 1, 1),
        20: (1, 1, 1, 3, 1, 1),
        38: (3, 3, 6, 3, 1, 1),
    }
    level_channels = (
        (128, 128),
        (256, 256),
        (512, 512),
        (512, 1024),
        (512, 1024, 2048),
        (1024, 2048, 4096),
    )
    # how each of B2..B7 reduces the resolution by 2: 'pool' (3x3/2 max-pool
    # before the level), 'stride' (first unit strided) or None
    downsample_settings = {
        'a': ('pool', 'pool', 'pool', 'pool', 'pool', None),
        'a1': ('stride', 'stride', 'stride', 'stride', 'stride', None),
        'a2': ('pool', 'pool', 'stride', 'stride', 'stride', None),
    }
    # levels (0 = B2) whose downsampling becomes dilation, per output stride
    dilated_levels = {32: (), 16: (4,), 8: (3, 4)}

    def __init__(
        self,
        depth: Optional[int] = 38,
        variant: str = 'a1',
        in_channels: int = 3,
        stem_channels: int = 64,
        num_units: Optional[Sequence[int]] = None,
        channels: Optional[Sequence[Sequence[int]]] = None,
        width_multiplier: Union[float, Sequence[float]] = 1.0,
        output_stride: int = 32,
        dilation_rule: str = 'ademxapp',
        drop_rates: Sequence[float] = (0.0,) * 6,
        dropout_type: str = 'element',
        pool_padding: int = 1,
        out_indices: Sequence[int] = (6,),
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
        num_units = self._resolve_units(depth, num_units)
        check_number('in_channels', in_channels, int, 1)
        check_number('stem_channels', stem_channels, int, 1)
        stem_channels, channels = self._resolve_channels(stem_channels, channels, width_multiplier)
        self._check_level_args(variant, output_stride, dilation_rule, drop_rates, pool_padding)
        self._check_layer_args(frozen_stages, norm_eval, with_cp, conv_cfg, norm_cfg, act_cfg)
        self.out_indices = self._resolve_out_indices(out_indices)
        # levels B2 .. B(num_levels + 1) are built, bn7 with B7 only
        self.num_levels = max(self.out_indices)
        self._check_frozen_stages(frozen_stages)

        self.depth = 1 + sum(n * len(c) for n, c in zip(num_units, channels)) + 1
        self.variant = variant
        self.num_units = num_units
        self.channels = channels
        self.output_stride = output_stride
        self.dilation_rule = dilation_rule
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        # B2's first unit runs the stem and recomputes it in backward: the
        # full-resolution stem output is not kept, unless it is an output
        self.stem_recomputed = bool(with_cp) and 0 not in self.out_indices
        # channels of indices 0-6 of this layout (built or not)
        self.feat_channels = (stem_channels,) + tuple(c[-1] for c in channels)
        self.out_channels = tuple(self.feat_channels[i] for i in self.out_indices)

        self.conv1a = build_conv_layer(
            conv_cfg, in_channels, stem_channels, 3, padding=1, bias=False
        )
        self._make_levels(
            pool_padding=pool_padding,
            unit_cfg=dict(
                dropout_type=dropout_type,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                with_cp=with_cp,
            ),
            drop_rates=drop_rates,
        )
        if self.num_levels == 6:
            self.bn7 = build_norm_layer(norm_cfg, self.feat_channels[6])[1]
            self.act7 = build_activation_layer(act_cfg)
        self._freeze_stages()

    @staticmethod
    def _check_level_args(variant, output_stride, dilation_rule, drop_rates, pool_padding):
        check_choice('variant', variant, tuple(WiderResNet.downsample_settings), KeyError)
        check_choice('output_stride', output_stride, tuple(WiderResNet.dilated_levels))
        check_choice('dilation_rule', dilation_rule, DILATION_RULES)
        check_sequence('drop_rates', drop_rates, 6, float, 'one rate in [0, 1) per level B2-B7')
        for i, rate in enumerate(drop_rates):
            check_number(
                f'drop_rates[{i}] (level {LEVEL_NAMES[i]})', rate, float, 0, 1, high_open=True
            )
        check_choice(
            'pool_padding', pool_padding, (0, 1), note=' (0 or 1 pixels of max-pool padding)'
        )

    @staticmethod
    def _check_layer_args(frozen_stages, norm_eval, with_cp, conv_cfg, norm_cfg, act_cfg):
        check_number('frozen_stages', frozen_stages, int)  # its range: _check_frozen_stages
        check_bool('norm_eval', norm_eval)
        check_cfg('conv_cfg', conv_cfg)
        check_cfg('norm_cfg', norm_cfg, optional=False)
        check_cfg('act_cfg', act_cfg)
        check_with_cp(with_cp)  # here: with out_indices=(0, ) no unit is built

    def _check_frozen_stages(self, frozen_stages):
        if not -1 <= frozen_stages <= self.num_levels:
            raise ValueError(
                f'frozen_stages must be in -1..{self.num_levels} for out_indices '
                f'{self.out_indices} (levels after index {self.num_levels} are not '
                f'built; -1..6 with index 6), got {frozen_stages}'
            )

    def _make_levels(self, pool_padding, unit_cfg, drop_rates):
        """Build B2 .. B(num_levels + 1) (``b2`` ...), each after its max-pool
        (``pool2`` ...) where the variant has one, and record the dilation of
        every conv in ``conv_dilations`` (per level, per unit)."""
        downsample = self.downsample_settings[self.variant]
        dilated = self.dilated_levels[self.output_stride]
        self.conv_dilations = []
        # indices (1-6) of the outputs whose level starts with a max-pool
        self.pooled_levels = ()
        dilation = 1
        for i, name in enumerate(LEVEL_NAMES[: self.num_levels]):
            ds, destrided = downsample[i], i in dilated
            new_dilation = dilation * 2 if ds and destrided else dilation
            if ds == 'pool':
                self.add_module(
                    f'pool{i + 2}', make_max_pool(dilation if destrided else None, pool_padding)
                )
                self.pooled_levels += (i + 1,)
            kernels = UNIT_KERNELS[len(self.channels[i])]
            dilations = level_dilations(
                kernels,
                self.num_units[i],
                dilation,
                new_dilation,
                keep_first=ds == 'stride' and destrided and self.dilation_rule == 'ademxapp',
            )
            self.add_module(
                name,
                make_level(
                    self.feat_channels[i],
                    self.channels[i],
                    dilations,
                    stride=2 if ds == 'stride' and not destrided else 1,
                    drop_rate=drop_rates[i],
                    **unit_cfg,
                ),
            )
            self.conv_dilations.append(dilations)
            dilation = new_dilation

    def _resolve_units(self, depth, num_units):
        if depth is not None or num_units is None:
            check_choice(
                'depth',
                depth,
                tuple(self.arch_settings),
                KeyError,
                note=', or depth=None with num_units for a custom layout',
            )
        if num_units is None:
            return self.arch_settings[depth]
        check_sequence('num_units', num_units, 6, int, 'six positive ints, B2-B7')
        num_units = tuple(num_units)
        if any(n < 1 for n in num_units):
            raise ValueError(f'num_units needs six positive ints (B2-B7), got {num_units}')
        if depth is not None and self.arch_settings.get(depth) != num_units:
            raise ValueError(
                f'num_units {num_units} contradicts depth {depth} '
                f'({self.arch_settings.get(depth)}); pass depth=None '
                'for a custom layout'
            )
        return num_units

    def _resolve_channels(self, stem_channels, channels, width_multiplier):
        if channels is not None:
            if width_multiplier != 1.0:
                raise ValueError('give either channels or width_multiplier, not both')
            if (
                isinstance(channels, (str, bytes))
                or not isinstance(channels, Sequence)
                or any(isinstance(c, (str, bytes)) or not isinstance(c, Sequence) for c in channels)
            ):
                raise TypeError(
                    'channels must be six sequences (B2-B7) of 2 (b33) or 3 '
                    f'(b131) conv widths, got {got(channels)}'
                )
            channels = tuple(tuple(c) for c in channels)
            if len(channels) != 6 or any(len(c) not in UNIT_KERNELS for c in channels):
                raise ValueError(
                    'channels needs six levels (B2-B7) of 2 (b33) or 3 (b131) '
                    f'conv widths, got {channels}'
                )
            for i, level in enumerate(channels):
                for c in level:
                    check_number(f'channels[{i}] (level {LEVEL_NAMES[i]}) width', c, int, 1)
            return stem_channels, channels
        widths = width_multiplier
        if isinstance(widths, (int, float)) and not isinstance(widths, bool):
            widths = (float(widths),) * 5
        if (
            isinstance(widths, (str, bytes))
            or not isinstance(widths, Sequence)
            or any(isinstance(w, bool) or not isinstance(w, (int, float)) for w in widths)
        ):
            raise TypeError(
                'width_multiplier must be one positive number or five (stem, '
                f'B2, B3, B4, B5), got {got(width_multiplier)}'
            )
        widths = tuple(widths)
        if len(widths) != 5 or any(w <= 0 for w in widths):
            raise ValueError(
                'width_multiplier is one positive number or five '
                f'(stem, B2, B3, B4, B5), got {width_multiplier}'
            )

        def widen(base, width, floor=0):  # ademxapp's rule
            return max(floor, min(1024, int(base * width)))

        stem = widen(stem_channels, widths[0])
        b2, b3, b4 = (widen(c[0], w) for c, w in zip(self.level_channels, widths[1:4]))
        b5a = widen(512, widths[4], b4)
        b5b = widen(1024, widths[4], b5a)
        return stem, ((b2, b2), (b3, b3), (b4, b4), (b5a, b5b)) + self.level_channels[4:]

    @staticmethod
    def _resolve_out_indices(out_indices):
        if isinstance(out_indices, int) and not isinstance(out_indices, bool):
            out_indices = (out_indices,)
        valid = range(-7, 7)
        if (
            isinstance(out_indices, (str, bytes))
            or not isinstance(out_indices, Sequence)
            or any(isinstance(i, bool) or not isinstance(i, int) for i in out_indices)
        ):
            raise TypeError(
                f'out_indices must be an int or a sequence of ints, 0 (stem) .. '
                f'6 (B7 after bn7) or -7 .. -1, got {got(out_indices)}'
            )
        if len(out_indices) == 0 or any(i not in valid for i in out_indices):
            raise ValueError(
                f'out_indices must be a non-empty sequence of 0 (stem) .. '
                f'6 (B7 after bn7) or -7 .. -1, got {out_indices}'
            )
        resolved = tuple(i % 7 for i in out_indices)
        if len(set(resolved)) != len(resolved):
            raise ValueError(f'out_indices has duplicates: {out_indices}')
        return resolved

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        frozen = [self.conv1a] + [getattr(self, n) for n in LEVEL_NAMES[: self.frozen_stages]]
        return frozen + [self.bn7] if self.frozen_stages == 6 else frozen

    def unbuilt_modules(self):
        return LEVEL_NAMES[self.num_levels :] + (('bn7',) if self.num_levels < 6 else ())

    def stem_modules(self):
        """The modules between the image and B2's first unit: ``conv1a``,
        then ``pool2`` where B2 starts with a max-pool. With
        ``stem_recomputed`` that unit runs them (its recompute source)."""
        return (self.conv1a, self.pool2) if 1 in self.pooled_levels else (self.conv1a,)

    def forward(self, x):
        outs = {}  # only the requested outputs stay alive (lower peak memory)
        for index in range(self.num_levels + 1):
            x = self.forward_level(index, x)
            if index in self.out_indices:
                outs[index] = x
        return tuple(outs[i] for i in self.out_indices)

    def forward_level(self, index, x):
        """Output ``index`` (0 stem, 1-6 B2-B7) from output ``index - 1``
        (index 0: from the image). With ``stem_recomputed`` index 0 passes
        the image on and B2's first unit runs the stem."""
        if index == 0:
            return x if self.stem_recomputed else self.conv1a(x)
        units = iter(getattr(self, LEVEL_NAMES[index - 1]))
        if index == 1 and self.stem_recomputed:
            x = next(units).forward_from(x, self.stem_modules())
        elif index in self.pooled_levels:
            x = getattr(self, f'pool{index + 1}')(x)
        for unit in units:
            x = unit(x)
        if index == 6:
            x = self.bn7(x)
            # with with_cp the activation keeps a mask, not the output the head keeps
            x = act_keeping_mask(x, self.act7) if self.with_cp else self.act7(x)
        return x


def make_max_pool(dilation, padding):
    """The max-pool before a level: 3x3/2 with ``padding``, or, where the
    level's downsampling became dilation, 3x3 stride-1 dilated by ``dilation``
    that keeps the size (``nn.MaxPool2d`` refuses a padding over half its
    kernel)."""
    if dilation is None:
        return nn.MaxPool2d(3, stride=2, padding=padding)
    return nn.Sequential(
        nn.ConstantPad2d(dilation, float('-inf')), nn.MaxPool2d(3, stride=1, dilation=dilation)
    )


def level_dilations(kernels, num_units, dilation, new_dilation, keep_first):
    """Dilation of every conv of a level's units (1 for 1x1 convs): the
    level's ``new_dilation``; with ``keep_first`` (ademxapp's rule in a
    de-strided level) the first conv of the first unit keeps the previous
    ``dilation``."""
    units = []
    for u in range(num_units):
        dils = [new_dilation] * len(kernels)
        if u == 0 and keep_first:
            dils[0] = dilation
        units.append(tuple(d if k > 1 else 1 for d, k in zip(dils, kernels)))
    return tuple(units)


def make_level(in_channels, channels, dilations, stride=1, **unit_cfg):
    """A level: one :class:`PreActResidualUnit` per entry of ``dilations``,
    the first with ``stride`` (and the projection shortcut where the shape
    changes)."""
    units = []
    for u, dils in enumerate(dilations):
        units.append(
            PreActResidualUnit(
                in_channels if u == 0 else channels[-1],
                channels,
                stride=stride if u == 0 else 1,
                dilations=dils,
                **unit_cfg,
            )
        )
    return nn.Sequential(*units)
