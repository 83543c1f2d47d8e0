"""A minimal GGUF (version 3) writer: metadata key/values and F32/F16
tensors, enough to ship the project's own models.

Layout, as the GGUF specification gives it: magic "GGUF", version (u32),
tensor count (u64), key/value count (u64); the key/values (string key,
u32 value type, value); the tensor infos (name, u32 dimension count, u64
dimensions innermost first, u32 type, u64 offset into the data section);
padding to the alignment; the tensor data, each tensor starting at a
multiple of the alignment. Everything little-endian.
"""
import struct

import numpy as np

ALIGNMENT = 32

# Metadata value types.
T_UINT8, T_INT8, T_UINT16, T_INT16, T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY, \
    T_UINT64, T_INT64, T_FLOAT64 = range(13)

# Tensor types.
GGML_F32, GGML_F16 = 0, 1

_SCALAR = {T_UINT8: "<B", T_INT8: "<b", T_UINT16: "<H", T_INT16: "<h", T_UINT32: "<I",
           T_INT32: "<i", T_FLOAT32: "<f", T_BOOL: "<?", T_UINT64: "<Q", T_INT64: "<q",
           T_FLOAT64: "<d"}


def _string(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(vtype, v):
    if vtype == T_STRING:
        return _string(v)
    return struct.pack(_SCALAR[vtype], v)


class GGUFWriter:
    def __init__(self):
        self.kv = []       # (key, type, value, array element type or None)
        self.tensors = []  # (name, array)

    def add(self, key, vtype, value):
        self.kv.append((key, vtype, value, None))

    def add_array(self, key, elem_type, values):
        self.kv.append((key, T_ARRAY, list(values), elem_type))

    def add_tensor(self, name, array):
        """array: a numpy float32 or float16 array in PyTorch's (row-major)
        shape; GGUF lists the dimensions innermost first."""
        a = np.ascontiguousarray(array)
        if a.dtype not in (np.float32, np.float16):
            raise ValueError(f"tensor {name}: dtype {a.dtype} is not float32 or float16")
        self.tensors.append((name, a))

    def write(self, path):
        out = bytearray()
        out += b"GGUF" + struct.pack("<IQQ", 3, len(self.tensors), len(self.kv))
        for key, vtype, value, elem in self.kv:
            out += _string(key) + struct.pack("<I", vtype)
            if vtype == T_ARRAY:
                out += struct.pack("<IQ", elem, len(value))
                for v in value:
                    out += _value(elem, v)
            else:
                out += _value(vtype, value)
        offset = 0
        offsets = []
        for name, a in self.tensors:
            offsets.append(offset)
            dims = list(reversed(a.shape))
            ttype = GGML_F32 if a.dtype == np.float32 else GGML_F16
            out += _string(name) + struct.pack("<I", len(dims))
            out += b"".join(struct.pack("<Q", d) for d in dims)
            out += struct.pack("<IQ", ttype, offset)
            offset += a.nbytes
            offset += (-offset) % ALIGNMENT
        out += b"\0" * ((-len(out)) % ALIGNMENT)
        data_start = len(out)
        for (name, a), off in zip(self.tensors, offsets):
            out += b"\0" * (data_start + off - len(out))
            out += a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        with open(path, "wb") as f:
            f.write(out)
