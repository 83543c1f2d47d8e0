"""Read back what gguf_write.py writes (GGUF version 3; F32/F16 tensors):
the metadata as a dict and the tensors as numpy arrays in PyTorch's
(row-major, outermost first) shape. For the tests, which rebuild the
shipped model in PyTorch from the shipped file."""
import struct

import numpy as np

from gguf_write import ALIGNMENT, GGML_F16, GGML_F32, T_ARRAY, T_STRING, _SCALAR


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0]

    def string(self):
        n = self.take("<Q")
        s = self.data[self.pos:self.pos + n].decode("utf-8")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == T_STRING:
            return self.string()
        if vtype == T_ARRAY:
            elem, n = self.take("<I"), self.take("<Q")
            return [self.value(elem) for _ in range(n)]
        return self.take(_SCALAR[vtype])


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    r = _Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    r.pos = 4
    version, n_tensors, n_kv = r.take("<I"), r.take("<Q"), r.take("<Q")
    if version != 3:
        raise ValueError(f"{path}: GGUF version {version}, expected 3")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("<Q") for _ in range(r.take("<I"))]
        infos.append((name, dims, r.take("<I"), r.take("<Q")))
    align = meta.get("general.alignment", ALIGNMENT)
    start = r.pos + (-r.pos) % align
    tensors = {}
    for name, dims, ttype, off in infos:
        dtype = {GGML_F32: "<f4", GGML_F16: "<f2"}.get(ttype)
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has type {ttype}, not F32 or F16")
        count = int(np.prod(dims))
        a = np.frombuffer(data, dtype=dtype, count=count, offset=start + off)
        tensors[name] = a.reshape(list(reversed(dims)))
    return meta, tensors
