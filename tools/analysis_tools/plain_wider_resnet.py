"""A plain PyTorch Wider ResNet for the benchmark: pre-activation units of
torch.nn layers only (no OpenMMLab base classes, builders or registries), the
shape of the IABN / NV / PSA ports. Its parameter names equal mmwrn's, so both
run on identical weights; the math is the same (tested)."""

import torch.nn as nn
import torch.nn.functional as F

# levels whose stride becomes dilation, per output stride (0 = B2); A1 only
DESTRIDED = {32: (), 16: (4,), 8: (3, 4)}


class PlainUnit(nn.Module):
    def __init__(self, cin, channels, stride, dilations, eps):
        super().__init__()
        kernels = (3, 3) if len(channels) == 2 else (1, 3, 1)
        self.n = len(channels)
        prev = cin
        for i, (ch, k, d) in enumerate(zip(channels, kernels, dilations), 1):
            setattr(self, f'norm{i}', nn.BatchNorm2d(prev, eps=eps))
            setattr(
                self,
                f'conv{i}',
                nn.Conv2d(
                    prev,
                    ch,
                    k,
                    stride if i == 1 else 1,
                    padding=d * (k - 1) // 2,
                    dilation=d,
                    bias=False,
                ),
            )
            prev = ch
        self.shortcut = (
            nn.Conv2d(cin, channels[-1], 1, stride, bias=False)
            if stride != 1 or cin != channels[-1]
            else None
        )

    def forward(self, x):
        pre = F.relu(self.norm1(x), inplace=True)
        short = x if self.shortcut is None else self.shortcut(pre)
        out = self.conv1(pre)
        out = self.conv2(F.relu(self.norm2(out), inplace=True))
        if self.n == 3:
            out = self.conv3(F.relu(self.norm3(out), inplace=True))
        return out + short


class PlainWiderResNet(nn.Module):
    """Model A1 at output stride 32, 16 or 8 (ademxapp's dilation rule);
    returns the B7 features after bn7 + ReLU."""

    def __init__(self, num_units, channels, stem_channels=64, output_stride=32, eps=1e-5):
        super().__init__()
        self.conv1a = nn.Conv2d(3, stem_channels, 3, padding=1, bias=False)
        destrided = DESTRIDED[output_stride]
        cin, dilation = stem_channels, 1
        for i, (n, chans) in enumerate(zip(num_units, channels)):
            new = dilation * 2 if i in destrided else dilation
            units = []
            for u in range(n):
                first = u == 0 and i < 5
                stride = 2 if first and i not in destrided else 1
                dils = [new] * len(chans)
                if first and i in destrided:
                    dils[0] = dilation
                if len(chans) == 3:
                    dils[0] = dils[2] = 1
                units.append(PlainUnit(cin, chans, stride, dils, eps))
                cin = chans[-1]
            setattr(self, f'b{i + 2}', nn.Sequential(*units))
            dilation = new
        self.bn7 = nn.BatchNorm2d(cin, eps=eps)

    def forward(self, x):
        x = self.conv1a(x)
        for name in ('b2', 'b3', 'b4', 'b5', 'b6', 'b7'):
            x = getattr(self, name)(x)
        return F.relu(self.bn7(x), inplace=True)


class PlainClassifier(nn.Module):
    def __init__(self, backbone, num_classes):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(backbone.bn7.num_features, num_classes)

    def forward(self, x):
        return self.fc(self.backbone(x).mean((2, 3)))


class PlainSegmenter(nn.Module):
    """Backbone + the paper's "2 conv." head (3x3 dilation-12 convs with bias)."""

    def __init__(self, backbone, num_classes, channels=512, dilation=12):
        super().__init__()
        self.backbone = backbone
        self.conv6a = nn.Conv2d(
            backbone.bn7.num_features, channels, 3, padding=dilation, dilation=dilation
        )
        self.conv_seg = nn.Conv2d(channels, num_classes, 3, padding=dilation, dilation=dilation)

    def forward(self, x):
        return self.conv_seg(F.relu(self.conv6a(self.backbone(x)), inplace=True))
