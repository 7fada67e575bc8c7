"""The ``pb_utils`` helpers of Triton's Python backend (``triton_python_backend_utils``): the
classes and functions a Triton ``model.py`` uses, with the same names and behaviour on CPU."""
import json
import struct
import sys

import numpy as np

__all__ = [
    "Tensor", "InferenceRequest", "InferenceResponse", "TritonError", "TritonModelException",
    "Logger", "get_input_tensor_by_name", "get_output_tensor_by_name", "get_input_config_by_name",
    "get_output_config_by_name", "triton_to_numpy_type", "numpy_to_triton_type",
    "triton_string_to_numpy", "serialize_byte_tensor", "deserialize_bytes_tensor",
    "TRITONSERVER_MEMORY_CPU",
]

TRITONSERVER_MEMORY_CPU = 0

# Triton's TRITONSERVER_DataType numbering (model_config.proto's DataType minus TYPE_INVALID).
_TRITON_TO_NUMPY = {
    1: np.bool_, 2: np.uint8, 3: np.uint16, 4: np.uint32, 5: np.uint64, 6: np.int8, 7: np.int16,
    8: np.int32, 9: np.int64, 10: np.float16, 11: np.float32, 12: np.float64, 13: np.object_,
}

TRITON_STRING_TO_NUMPY = {
    "TYPE_BOOL": bool, "TYPE_UINT8": np.uint8, "TYPE_UINT16": np.uint16, "TYPE_UINT32": np.uint32,
    "TYPE_UINT64": np.uint64, "TYPE_INT8": np.int8, "TYPE_INT16": np.int16, "TYPE_INT32": np.int32,
    "TYPE_INT64": np.int64, "TYPE_FP16": np.float16, "TYPE_FP32": np.float32,
    "TYPE_FP64": np.float64, "TYPE_STRING": np.object_,
    # NumPy has no bfloat16: BF16 tensors are their raw 16-bit patterns.
    "TYPE_BF16": np.uint16,
}


def triton_to_numpy_type(data_type):
    return _TRITON_TO_NUMPY.get(data_type)


def numpy_to_triton_type(data_type):
    for number, np_type in _TRITON_TO_NUMPY.items():
        if data_type == np_type:
            return number
    if data_type == np.bytes_:
        return 13
    return None


def triton_string_to_numpy(triton_type_string):
    return TRITON_STRING_TO_NUMPY[triton_type_string]


def serialize_byte_tensor(input_tensor):
    """A BYTES tensor as Triton lays it out: each element's 4-byte little-endian length, then its
    bytes, in C order; returned as a 1-D uint8 array (None for an empty tensor)."""
    if input_tensor.size == 0:
        return None
    parts = []
    for item in input_tensor.reshape(-1):
        if isinstance(item, (bytes, bytearray)):
            data = bytes(item)
        elif isinstance(item, np.bytes_):
            data = bytes(item)
        else:
            data = str(item).encode("utf-8")
        parts.append(struct.pack("<I", len(data)))
        parts.append(data)
    return np.frombuffer(b"".join(parts), dtype=np.uint8)


def deserialize_bytes_tensor(encoded_tensor):
    """The inverse of ``serialize_byte_tensor``: a 1-D object array of ``bytes``."""
    view = memoryview(encoded_tensor).cast("B")
    items = []
    offset = 0
    while offset < len(view):
        (length,) = struct.unpack_from("<I", view, offset)
        offset += 4
        items.append(bytes(view[offset:offset + length]))
        offset += length
    result = np.empty(len(items), dtype=np.object_)
    result[:] = items
    return result


class TritonError:
    """An error a response carries (``InferenceResponse(error=...)``) or ``execute`` raises as
    ``TritonModelException``. ``code`` picks the status the client sees."""
    UNKNOWN = 0
    INTERNAL = 1
    NOT_FOUND = 2
    INVALID_ARG = 3
    UNAVAILABLE = 4
    UNSUPPORTED = 5
    ALREADY_EXISTS = 6
    CANCELLED = 7

    def __init__(self, msg, code=INTERNAL):
        self._msg = msg
        self._code = code

    def __str__(self):
        return "" if self._msg is None else str(self._msg)

    def message(self):
        return self._msg

    def code(self):
        return self._code


class TritonModelException(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self._msg = msg

    def message(self):
        return self._msg


class Tensor:
    """A named tensor backed by a NumPy array (CPU only)."""

    def __init__(self, name, numpy_array, triton_dtype=None):
        if not isinstance(numpy_array, np.ndarray):
            raise TritonModelException(f"Tensor '{name}': expected a numpy.ndarray, got {type(numpy_array).__name__}")
        if numpy_array.dtype.type == np.str_ or numpy_array.dtype == np.void:
            raise TritonModelException(
                "Tensor dtype used for numpy_array is not supported by Python backend. Please use np.object_ instead.")
        if triton_dtype is not None:
            np_type = triton_to_numpy_type(triton_dtype)
            if np_type is not None and numpy_array.dtype != np_type:
                numpy_array = numpy_array.view(np_type)
        else:
            triton_dtype = numpy_to_triton_type(numpy_array.dtype)
            if triton_dtype is None:
                triton_dtype = numpy_to_triton_type(numpy_array.dtype.type)
        self._name = name
        self._numpy_array = numpy_array
        self._triton_dtype = triton_dtype

    def name(self):
        return self._name

    def triton_dtype(self):
        return self._triton_dtype

    def as_numpy(self):
        return self._numpy_array

    def shape(self):
        return list(self._numpy_array.shape)

    def is_cpu(self):
        return True

    @staticmethod
    def from_dlpack(name, capsule):
        import torch.utils.dlpack  # only models that use DLPack need torch
        return Tensor(name, torch.utils.dlpack.from_dlpack(capsule).numpy())

    def to_dlpack(self):
        import torch.utils.dlpack
        return torch.utils.dlpack.to_dlpack(torch.from_numpy(self._numpy_array))


class InferenceRequest:
    def __init__(self, inputs, request_id="", correlation_id=0, requested_output_names=None,
                 parameters="{}", model_name="", model_version=-1):
        self._inputs = inputs
        self._request_id = request_id
        self._correlation_id = correlation_id
        self._requested_output_names = list(requested_output_names or [])
        self._parameters = parameters
        self._model_name = model_name
        self._model_version = model_version

    def inputs(self):
        return self._inputs

    def request_id(self):
        return self._request_id

    def correlation_id(self):
        return self._correlation_id

    def requested_output_names(self):
        return self._requested_output_names

    def parameters(self):
        return self._parameters

    def model_name(self):
        return self._model_name

    def model_version(self):
        return self._model_version

    def is_cancelled(self):
        return False

    def exec(self, *args, **kwargs):
        raise TritonModelException("BLS (InferenceRequest.exec) is not supported by Cranberries")

    def async_exec(self, *args, **kwargs):
        raise TritonModelException("BLS (InferenceRequest.async_exec) is not supported by Cranberries")


class InferenceResponse:
    def __init__(self, output_tensors=None, error=None, parameters=None):
        if output_tensors is None:
            output_tensors = []
        if type(output_tensors) is not list:
            raise TritonModelException('"output_tensors" must be a list.')
        self._output_tensors = output_tensors
        self._err = error
        self._parameters = parameters

    def output_tensors(self):
        return self._output_tensors

    def has_error(self):
        return self._err is not None

    def error(self):
        return self._err


class Logger:
    """Triton's ``pb_utils.Logger``: lines go to the server log, tagged with the model."""

    @staticmethod
    def log(message, level=1):
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()

    @staticmethod
    def log_info(message):
        Logger.log(message)

    @staticmethod
    def log_warn(message):
        Logger.log(message)

    @staticmethod
    def log_error(message):
        Logger.log(message)

    @staticmethod
    def log_verbose(message):
        Logger.log(message)


def get_input_tensor_by_name(inference_request, name):
    for tensor in inference_request.inputs():
        if tensor.name() == name:
            return tensor
    return None


def get_output_tensor_by_name(inference_response, name):
    for tensor in inference_response.output_tensors():
        if tensor.name() == name:
            return tensor
    return None


def get_input_config_by_name(model_config, name):
    for properties in model_config.get("input", []):
        if properties.get("name") == name:
            return properties
    return None


def get_output_config_by_name(model_config, name):
    for properties in model_config.get("output", []):
        if properties.get("name") == name:
            return properties
    return None


def _model_config_json(config):
    return json.dumps(config)
