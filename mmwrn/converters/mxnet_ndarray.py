"""Reads MXNet's NDArray list files (``.params``, written by ``mx.nd.save``)
with numpy alone.

Layout (little endian): uint64 0x112, uint64 0, uint64 count, then each array:
uint32 magic (0xF993fac9 = V2 / 0xF993faca = V3: int32 storage type follows;
0xF993fac8 = V1; anything else = a legacy array whose magic is its ndim, with
uint32 dims), the shape (uint32 ndim + int64 dims; legacy: uint32 dims), the
context (int32 device type, int32 device id), int32 dtype flag, raw data; then
uint64 count of names and each name as uint64 length + bytes.
"""

import struct
from collections import OrderedDict

import numpy as np

LIST_MAGIC = 0x112
V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
DTYPES = {
    0: np.float32,
    1: np.float64,
    2: np.float16,
    3: np.uint8,
    4: np.int32,
    5: np.int8,
    6: np.int64,
    7: np.bool_,
}


class NDArrayFileError(ValueError):
    """The file is not a (supported) MXNet NDArray list."""


class _Reader:
    def __init__(self, data, path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, fmt):
        values = self.take_all(fmt)
        return values if len(values) > 1 else values[0]

    def take_all(self, fmt):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise NDArrayFileError(
                f'{self.path}: truncated MXNet NDArray file (needed '
                f'{size} bytes at offset {self.pos}, file has '
                f'{len(self.data)})'
            )
        values = struct.unpack_from('<' + fmt, self.data, self.pos)
        self.pos += size
        return values

    def shape(self, legacy_ndim=None):
        if legacy_ndim is not None:
            return self.take_all(f'{legacy_ndim}I') if legacy_ndim else ()
        ndim = self.take('i')
        return self.take_all(f'{ndim}q') if ndim > 0 else ()

    def array(self, index):
        magic = self.take('I')
        if magic in (V2, V3):
            stype = self.take('i')
            if stype != 0:
                raise NDArrayFileError(
                    f'{self.path}: array {index} has sparse storage '
                    f'type {stype}; only dense arrays are supported'
                )
            shape = self.shape()
        elif magic == V1:
            shape = self.shape()
        elif magic <= 32:  # legacy: the magic is the ndim
            shape = self.shape(legacy_ndim=magic)
        else:
            raise NDArrayFileError(f'{self.path}: array {index} has an unknown magic 0x{magic:08x}')
        if not shape:
            return None
        self.take('ii')  # context
        flag = self.take('i')
        if flag not in DTYPES:
            raise NDArrayFileError(f'{self.path}: array {index} has unknown dtype flag {flag}')
        dtype = np.dtype(DTYPES[flag])
        count = int(np.prod(shape))
        end = self.pos + count * dtype.itemsize
        if end > len(self.data):
            raise NDArrayFileError(f'{self.path}: truncated data of array {index}')
        arr = np.frombuffer(self.data, dtype, count, self.pos).reshape(shape).copy()
        self.pos = end
        return arr


def load_ndarray_list(path):
    """``{name: numpy array}`` of an MXNet ``.params`` / ``nd.save`` file."""
    with open(path, 'rb') as f:
        data = f.read()
    reader = _Reader(data, path)
    if len(data) < 16 or reader.take('Q') != LIST_MAGIC:
        raise NDArrayFileError(
            f'{path} is not an MXNet NDArray list file (.params saved by mx.nd.save / '
            'Module.save_params): it does not start with the magic 0x112'
        )
    reader.take('Q')
    arrays = [reader.array(i) for i in range(reader.take('Q'))]
    names = []
    for _ in range(reader.take('Q')):
        length = reader.take('Q')
        names.append(reader.data[reader.pos : reader.pos + length].decode('utf-8'))
        reader.pos += length
    if names and len(names) != len(arrays):
        raise NDArrayFileError(f'{path}: {len(arrays)} arrays but {len(names)} names')
    if not names:
        raise NDArrayFileError(f'{path} holds unnamed arrays; expected named parameters')
    return OrderedDict(zip(names, arrays))
