"""Converters of the published Wider ResNet weights to mmwrn checkpoints; the
command-line front ends are in tools/model_converters/. ``architecture``
holds what each published network is and checks a config's model against it."""

from .ademxapp import convert_ademxapp, identify_ademxapp
from .architecture import SOURCES, check_architecture, describe_backbone
from .common import ConversionError, convert_and_save
from .mxnet_ndarray import NDArrayFileError, load_ndarray_list
from .ports import convert_port, identify, read_checkpoint

__all__ = [
    'load_ndarray_list',
    'convert_ademxapp',
    'identify_ademxapp',
    'convert_port',
    'identify',
    'read_checkpoint',
    'convert_and_save',
    'check_architecture',
    'describe_backbone',
    'SOURCES',
    'ConversionError',
    'NDArrayFileError',
]
