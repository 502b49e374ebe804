"""Helpers of the tools and of users' scripts, outside the registered modules:
``complexity`` (parameter and MAC counts), ``outputs`` (files the tools write:
never an input, written atomically), ``resnet_decoders`` (WiderResNet in place
of an mmseg config's ResNet)."""
