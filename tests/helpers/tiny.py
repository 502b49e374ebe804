"""WiderResNet at reduced widths for the tests."""

# Reduced widths: the real layouts (units per level, unit types) at a cost a
# 2-core CI can afford. Parameter counts are tested on the real widths.
TINY_CHANNELS = ((4, 4), (8, 8), (8, 8), (8, 16), (8, 16, 32), (16, 32, 64))
TINY_WIDER = dict(stem_channels=8, channels=TINY_CHANNELS)
