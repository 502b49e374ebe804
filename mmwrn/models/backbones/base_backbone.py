"""What both mmwrn backbones share: the deprecated ``pretrained`` argument,
``frozen_stages`` / ``norm_eval``, and loading a checkpoint of the full network
into a backbone that builds only the levels up to its deepest output."""

import warnings

from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

# weights that mmseg's base configs name in ``model.pretrained``: ResNets, never ours
RESNET_WEIGHT_SCHEMES = ('open-mmlab://', 'torchvision://', 'mmcls://')
DEFAULT_INIT_CFG = [
    dict(type='Kaiming', layer='Conv2d'),
    dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
]


def resolve_init_cfg(pretrained, init_cfg, name):
    """``init_cfg`` from the deprecated ``pretrained`` argument, as mmseg's
    backbones do (``mmseg.models.backbones.ResNet``): a path becomes
    ``dict(type='Pretrained', checkpoint=pretrained)`` with mmseg's deprecation
    warning; ``pretrained`` and ``init_cfg`` together are an error; neither
    gives the default initialisation."""
    if pretrained is None:
        return DEFAULT_INIT_CFG if init_cfg is None else init_cfg
    if not isinstance(pretrained, str):
        raise TypeError(f'pretrained must be a str or None, got {type(pretrained).__name__}')
    if init_cfg is not None:
        raise ValueError(
            f'{name}: init_cfg and pretrained cannot be set at the same time '
            f"(pretrained={pretrained!r}; mmseg's EncoderDecoder passes model.pretrained "
            'to the backbone: set model.pretrained=None when the backbone has an init_cfg)'
        )
    if pretrained.startswith(RESNET_WEIGHT_SCHEMES):
        raise ValueError(
            f'{name}: pretrained={pretrained!r} are ResNet weights (model.pretrained of an '
            f'mmseg base config?); set model.pretrained=None, or give a {name} checkpoint'
        )
    # mmseg's words, so that filters written for mmseg's backbones match; raised, as
    # mmseg's, from the backbone's __init__ (resolve_init_cfg <- BaseBackbone.__init__ <-
    # the backbone's __init__), so that a filter on its module matches too
    warnings.warn(
        'DeprecationWarning: pretrained is a deprecated, please use "init_cfg" instead',
        stacklevel=3,
    )
    return dict(type='Pretrained', checkpoint=pretrained)


class BaseBackbone(BaseModule):
    """Base of the mmwrn backbones.

    * ``pretrained`` (deprecated) / ``init_cfg`` as mmseg's backbones take them;
    * ``frozen_modules()`` frozen (no gradients, eval mode) and, with
      ``self.norm_eval``, every BatchNorm in eval mode while training;
    * a checkpoint of the full network loads into a backbone that does not
      build its last levels (``unbuilt_modules()``): their keys are dropped
      from the checkpoint with one log line naming them, so that they are
      neither loaded nor reported as unexpected; every other mismatch is
      reported by the loader as usual.
    """

    def __init__(self, pretrained=None, init_cfg=None):
        super().__init__(init_cfg=resolve_init_cfg(pretrained, init_cfg, type(self).__name__))

    def frozen_modules(self):
        """The modules ``self.frozen_stages`` freezes."""
        raise NotImplementedError

    def unbuilt_modules(self):
        """Names of the modules of the full network that are not built (the
        levels after the deepest requested output)."""
        raise NotImplementedError

    def _freeze_stages(self):
        for m in self.frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        unbuilt = self.unbuilt_modules()
        dropped = {}
        for key in list(state_dict):
            if key.startswith(prefix):
                name = key[len(prefix) :].split('.', 1)[0]
                if name in unbuilt:
                    del state_dict[key]
                    dropped[name] = dropped.get(name, 0) + 1
        if dropped:
            print_log(
                f'{type(self).__name__} with out_indices {self.out_indices} does not build '
                f'{", ".join(dropped)} (nothing after its deepest output, index '
                f'{max(self.out_indices)}): skipped their {sum(dropped.values())} '
                f'keys in the checkpoint',
                logger='current',
            )
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
