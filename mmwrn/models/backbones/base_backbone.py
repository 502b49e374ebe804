"""What both mmwrn backbones share: ``frozen_stages`` and ``norm_eval``."""
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm


class FreezableBackbone(BaseModule):
    """Freezes ``frozen_modules()`` (no gradients, eval mode) and, with
    ``self.norm_eval``, keeps every BatchNorm in eval mode while training."""

    def frozen_modules(self):
        """The modules ``self.frozen_stages`` freezes."""
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
