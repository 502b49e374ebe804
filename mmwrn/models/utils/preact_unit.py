"""The pre-activation ("identity mapping") residual unit shared by every mmwrn
backbone: Wider ResNets (``b33`` and ``b131`` units) and WRN-d-k (``b33``)."""

from functools import partial
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule

from .norm_act_recompute import check_recomputable_conv, norm_act_conv
from .recompute import needs_grad, recompute

# kernel sizes of the convs of each unit type, keyed by its number of convs
UNIT_KERNELS = {2: (3, 3), 3: (1, 3, 1)}
UNIT_TYPES = {2: 'b33', 3: 'b131'}
DROPOUT_TYPES = {'element': nn.Dropout, 'channel': nn.Dropout2d}
# values of ``with_cp``: what each keeps for backward
WITH_CP_MODES = (False, True, 'norm_act')


def _functional(act):
    """The functional form of a parameter-free activation module."""
    if type(act) is nn.ReLU:  # the ATen op itself: F.relu adds a Python call
        return torch.relu_ if act.inplace else torch.relu
    if type(act) is nn.LeakyReLU:
        return partial(F.leaky_relu, negative_slope=act.negative_slope, inplace=act.inplace)
    return act


class PreActResidualUnit(BaseModule):
    """Pre-activation residual unit.

    Every conv is preceded by norm -> activation; the last one also by dropout
    when ``drop_rate > 0``. Convs have no bias and there is no activation after
    the addition. The shortcut is the raw input when shape is unchanged,
    otherwise a 1x1 conv (no norm, no bias, the unit's stride) applied to the
    output of the unit's first norm-activation.

    Args:
        in_channels (int): Input channels.
        channels (Sequence[int]): Output channels of each conv: two for a
            ``b33`` unit (3x3, 3x3), three for a ``b131`` bottleneck
            (1x1, 3x3, 1x1).
        stride (int): Stride of the first conv and of the projection shortcut.
            Default: 1.
        dilations (Sequence[int], optional): Dilation of each conv, one entry
            per conv. 1x1 convs must use 1. Default: all 1.
        drop_rate (float): Dropout probability before the last conv.
            Default: 0.
        dropout_type (str): ``'element'`` (``nn.Dropout``, as ademxapp and
            WRN) or ``'channel'`` (``nn.Dropout2d``, as IABN).
            Default: ``'element'``.
        conv_cfg (dict, optional): Config of the convs. Default: None (Conv2d).
        norm_cfg (dict): Config of the norm layers. Default: ``dict(type='BN')``.
        act_cfg (dict): Config of the activations.
            Default: ``dict(type='ReLU', inplace=True)``.
        with_cp (bool | str): What to recompute in backward instead of
            keeping it, to save memory; outputs, gradients and BN statistics
            are the same as without. ``False``: nothing. ``True``: the whole
            unit (only its input is kept; every conv runs again).
            ``'norm_act'``: only norm + activation (+ dropout): every conv
            stage keeps its norm's input but not its conv's input, about half
            the memory at a few percent of time (convs not recomputed; needs
            ``nn.Conv2d`` convs). Default: False.
        init_cfg (dict or list[dict], optional): Initialization config.
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int],
        stride: int = 1,
        dilations: Optional[Sequence[int]] = None,
        drop_rate: float = 0.0,
        dropout_type: str = 'element',
        conv_cfg: Optional[dict] = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='ReLU', inplace=True),
        with_cp: Union[bool, str] = False,
        init_cfg=None,
    ):
        super().__init__(init_cfg=init_cfg)
        channels = tuple(channels)
        if len(channels) not in UNIT_KERNELS:
            raise ValueError(f'a unit has 2 convs (b33) or 3 convs (b131), got channels={channels}')
        kernels = UNIT_KERNELS[len(channels)]
        dilations = tuple(dilations) if dilations is not None else (1,) * len(channels)
        if len(dilations) != len(channels):
            raise ValueError(
                f'dilations {dilations} must have one entry per conv ({len(channels)})'
            )
        for k, d in zip(kernels, dilations):
            if k == 1 and d != 1:
                raise ValueError(
                    f'1x1 convs take no dilation, got dilations={dilations} for kernels {kernels}'
                )
        if not 0 <= drop_rate < 1:
            raise ValueError(f'drop_rate must be in [0, 1), got {drop_rate}')
        if dropout_type not in DROPOUT_TYPES:
            raise ValueError(
                f'dropout_type must be one of {tuple(DROPOUT_TYPES)}, got {dropout_type!r}'
            )
        check_with_cp(with_cp)

        self.in_channels = in_channels
        self.channels = channels
        self.unit_type = UNIT_TYPES[len(channels)]
        self.stride = stride
        self.dilations = dilations
        self.with_cp = with_cp
        self.num_convs = len(channels)

        act = build_activation_layer(act_cfg)
        # a parameter-free activation is one module shared by the stages, called
        # through its functional form where it has one (no per-call module cost)
        self.shared_act = not any(True for _ in act.parameters())
        if self.shared_act:
            self.act = act
            self._act_fn = _functional(act)
        ch_in = in_channels
        for i, (ch, k, d) in enumerate(zip(channels, kernels, dilations), 1):
            self.add_module(f'norm{i}', build_norm_layer(norm_cfg, ch_in)[1])
            if not self.shared_act:
                self.add_module(f'act{i}', build_activation_layer(act_cfg))
            self.add_module(
                f'conv{i}',
                build_conv_layer(
                    conv_cfg,
                    ch_in,
                    ch,
                    k,
                    stride=stride if i == 1 else 1,
                    padding=d * (k - 1) // 2,
                    dilation=d,
                    bias=False,
                ),
            )
            ch_in = ch
        self.dropout = DROPOUT_TYPES[dropout_type](drop_rate) if drop_rate > 0 else None
        if stride != 1 or in_channels != channels[-1]:
            self.shortcut = build_conv_layer(
                conv_cfg, in_channels, channels[-1], 1, stride=stride, bias=False
            )
        else:
            self.shortcut = None
        if with_cp == 'norm_act':
            for name in [f'conv{i}' for i in range(1, self.num_convs + 1)] + ['shortcut']:
                if getattr(self, name) is not None:
                    check_recomputable_conv(getattr(self, name), name)

    def _activate(self, x, i):
        if self.shared_act:
            return self._act_fn(x)
        return getattr(self, f'act{i}')(x)

    def _forward(self, x):
        act = self._activate
        preact = act(self.norm1(x), 1)
        shortcut = x if self.shortcut is None else self.shortcut(preact)
        out = self.conv1(preact)
        if self.num_convs == 3:
            out = self.conv2(act(self.norm2(out), 2))
            last_norm, last_conv = self.norm3, self.conv3
        else:
            last_norm, last_conv = self.norm2, self.conv2
        out = act(last_norm(out), self.num_convs)
        if self.dropout is not None:
            out = self.dropout(out)
        # in place: a conv's backward does not need its output
        return last_conv(out).add_(shortcut)

    def _act(self, i):
        return self._act_fn if self.shared_act else getattr(self, f'act{i}')

    # torch.compile cannot trace the recomputation in backward: the unit runs
    # eagerly (a graph break), with the outputs and gradients of eager mode
    @torch.compiler.disable
    def forward_norm_act(self, x, source=None):
        """The unit keeping for backward only the input of every norm
        (``with_cp='norm_act'``), see :func:`norm_act_conv`.

        ``source``: ``(s, fns)`` with ``x == fns(s)`` (a chain of callables),
        e.g. the image and the stem conv: then the unit keeps only ``s``,
        every stage recomputing its norm's input from it (the first stage
        through ``fns``, the next ones through the previous stages' norms,
        activations and convs too).
        """
        act = self._act
        convs = (self.conv1,) if self.shortcut is None else (self.conv1, self.shortcut)
        out, *shortcut = norm_act_conv(x, self.norm1, act(1), convs, source=source)
        shortcut = shortcut[0] if shortcut else x
        for i in range(2, self.num_convs + 1):
            if source is not None:
                prev = (getattr(self, f'norm{i - 1}'), act(i - 1), getattr(self, f'conv{i - 1}'))
                source = (source[0], tuple(source[1]) + prev)
            (out,) = norm_act_conv(
                out,
                getattr(self, f'norm{i}'),
                act(i),
                (getattr(self, f'conv{i}'),),
                source=source,
                dropout=self.dropout if i == self.num_convs else None,
            )
        # in place: norm_act_conv keeps no output
        return out.add_(shortcut)

    def forward(self, x):
        if self.with_cp and needs_grad(x, self):
            if self.with_cp == 'norm_act':
                return self.forward_norm_act(x)
            return recompute(self._forward, x, self)
        return self._forward(x)

    def forward_from(self, source, fns):
        """The unit on ``x = fns[-1](...fns[0](source))`` that, with
        ``with_cp``, keeps ``source`` for backward instead of ``x``: ``fns``
        (modules without BN statistics to keep, e.g. a stem conv and its
        max-pool) are recomputed in backward as well. A backbone's first unit
        thus keeps the image, not the larger full-resolution stem output.

        ``with_cp=True`` recomputes ``fns`` with the whole unit;
        ``'norm_act'`` runs ``fns`` once (recomputed, when they are more than
        one module, so that only ``source`` is kept) and recomputes ``x`` from
        ``source`` in every stage of the unit (see :meth:`forward_norm_act`).
        Outputs and gradients are those of ``self(fns(source))``.
        """
        fns = tuple(fns)

        def run_fns(s):
            for fn in fns:
                s = fn(s)
            return s

        if not (self.with_cp and needs_grad(source, *fns, self)):
            return self(run_fns(source))
        if self.with_cp == 'norm_act':
            # one module keeps its input, the source; a chain would keep more
            x = fns[0](source) if len(fns) == 1 else recompute(run_fns, source, *fns)
            return self.forward_norm_act(x, source=(source, fns))
        return recompute(lambda s: self._forward(run_fns(s)), source, self)


def check_with_cp(with_cp):
    """Raise a ``ValueError`` listing the choices if ``with_cp`` is not one."""
    if not (isinstance(with_cp, bool) or with_cp in WITH_CP_MODES[2:]):
        raise ValueError(
            f'with_cp must be one of {WITH_CP_MODES} (False: keep all for '
            "backward, True: recompute whole units, 'norm_act': recompute "
            f'norm + activation only), got {with_cp!r}'
        )
