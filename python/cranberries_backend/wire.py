"""The framing between the server and a stub, the same in both directions.

A frame is ``u32 header_length | u32 body_length | header | body`` (little-endian). The header is a
small UTF-8 JSON object (the operation, and per tensor: name, datatype, shape, offset and byte
length); the body holds the tensors' raw bytes, each starting at a multiple of 8. Tensor data is
never JSON. A body too large for the pipe travels in a file under the server's shared-memory folder
instead: the header then names the file (``"file"``, one per direction and stub, rewritten in
place so its pages stay allocated) and its ``"length"``; the frame's body is empty.

BYTES tensors are laid out as Triton does: per element a 4-byte little-endian length, then the bytes.
"""
import json
import os
import struct

import numpy as np

NUMPY_OF = {
    "BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
    "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32, "INT64": np.int64,
    "FP16": np.float16, "FP32": np.float32, "FP64": np.float64,
    # NumPy has no bfloat16: BF16 data is its raw 16-bit patterns.
    "BF16": np.uint16,
}

_PREFIX = struct.Struct("<II")


def datatype_of(array):
    """The protocol datatype of a NumPy array, or None."""
    if array.dtype == np.object_ or array.dtype.type == np.bytes_:
        return "BYTES"
    for name, np_type in NUMPY_OF.items():
        if name != "BF16" and array.dtype == np_type:
            return name
    return None


def _read_exactly(fd, view):
    got = 0
    while got < len(view):
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise EOFError("the server closed the pipe")
        got += n


def read_frame(fd):
    """(header dict, body memoryview) of the next frame; EOFError when the server is gone."""
    prefix = bytearray(8)
    _read_exactly(fd, memoryview(prefix))
    header_length, body_length = _PREFIX.unpack(prefix)
    header_bytes = bytearray(header_length)
    _read_exactly(fd, memoryview(header_bytes))
    header = json.loads(header_bytes)
    if body_length:
        body = bytearray(body_length)
        _read_exactly(fd, memoryview(body))
        return header, memoryview(body)
    path = header.get("file")
    if path:
        # The server rewrites the same file for every large body: read it into memory we own.
        length = int(header["length"])
        body = bytearray(length)
        fd = os.open(path, os.O_RDONLY)
        try:
            view = memoryview(body)
            got = 0
            while got < length:
                n = os.preadv(fd, [view[got:]], got)
                if n == 0:
                    raise EOFError("the body file is shorter than announced")
                got += n
        finally:
            os.close(fd)
        return header, memoryview(body)
    return header, memoryview(b"")


def decode_tensor(descriptor, body):
    """A NumPy array (object array of bytes for BYTES) over the body's bytes, without copying."""
    shape = tuple(descriptor["shape"])
    offset, nbytes = descriptor["offset"], descriptor["nbytes"]
    if descriptor["datatype"] == "BYTES":
        count = 1
        for dim in shape:
            count *= dim
        items = []
        view = body[offset:offset + nbytes]
        at = 0
        for _ in range(count):
            (length,) = struct.unpack_from("<I", view, at)
            at += 4
            items.append(bytes(view[at:at + length]))
            at += length
        array = np.empty(count, dtype=np.object_)
        array[:] = items
        return array.reshape(shape)
    np_type = NUMPY_OF[descriptor["datatype"]]
    count = nbytes // np.dtype(np_type).itemsize
    return np.frombuffer(body, dtype=np_type, count=count, offset=offset).reshape(shape)


def encode_bytes(array):
    parts = []
    for item in array.reshape(-1):
        if isinstance(item, (bytes, bytearray, np.bytes_)):
            data = bytes(item)
        else:
            data = str(item).encode("utf-8")
        parts.append(struct.pack("<I", len(data)))
        parts.append(data)
    return b"".join(parts)


class BodyWriter:
    """Collects tensors for one frame's body, each at a multiple of 8."""

    def __init__(self):
        self.parts = []
        self.length = 0

    def add(self, name, datatype, array):
        if datatype == "BYTES":
            data = memoryview(encode_bytes(array))
        else:
            data = memoryview(np.ascontiguousarray(array)).cast("B")
        pad = (-self.length) % 8
        if pad:
            self.parts.append(b"\0" * pad)
            self.length += pad
        descriptor = {"name": name, "datatype": datatype, "shape": list(array.shape), "offset": self.length, "nbytes": len(data)}
        self.parts.append(data)
        self.length += len(data)
        return descriptor


def _write_all(fd, buffers):
    for buffer in buffers:
        view = memoryview(buffer).cast("B")
        while len(view):
            written = os.write(fd, view)
            view = view[written:]


class FrameWriter:
    def __init__(self, fd, file_dir, file_threshold):
        self.fd = fd
        self.file_dir = file_dir
        self.file_threshold = file_threshold

    def send(self, header, body=None):
        parts = body.parts if body else []
        length = body.length if body else 0
        if length and self.file_dir and length >= self.file_threshold:
            # One file per stub, rewritten in place: its tmpfs pages stay allocated between calls.
            path = os.path.join(self.file_dir, "out")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                offset = 0
                for part in parts:
                    view = memoryview(part).cast("B")
                    while len(view):
                        written = os.pwrite(fd, view, offset)
                        offset += written
                        view = view[written:]
            finally:
                os.close(fd)
            header = dict(header, file=path, length=length)
            parts, length = [], 0
        header_bytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
        _write_all(self.fd, [_PREFIX.pack(len(header_bytes), length), header_bytes, *parts])
