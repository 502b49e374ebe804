from .two_conv_head import TwoConvHead

__all__ = ['TwoConvHead']
