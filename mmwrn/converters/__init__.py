"""Converters of the published Wider ResNet weights to mmwrn checkpoints; the
command-line front ends are in tools/model_converters/."""
from .ademxapp import convert_ademxapp
from .common import ConversionError, convert_and_save
from .mxnet_ndarray import NDArrayFileError, load_ndarray_list
from .ports import convert_port

__all__ = ['load_ndarray_list', 'convert_ademxapp', 'convert_port', 'convert_and_save',
           'ConversionError', 'NDArrayFileError']
