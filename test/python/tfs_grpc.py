"""TensorFlow Serving gRPC from Python, with stubs generated from the project's protos.

PredictionService.Predict with the image in `tensor_content` (and again in typed `float_val`),
ModelService.GetModelStatus, and the error status of an unknown model. Prints the results as JSON.
"""
import grpc
import numpy as np

from common import arguments, check_same, digits_pixels, emit, fail, result

args = arguments(__doc__)
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2  # noqa: E402  (stubs folder)
from tensorflow_serving.apis import (  # noqa: E402
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

pixels = digits_pixels(args.request)
channel = grpc.insecure_channel(args.grpc)
prediction = prediction_service_pb2_grpc.PredictionServiceStub(channel)
models = model_service_pb2_grpc.ModelServiceStub(channel)
T = args.timeout


def image_tensor(typed):
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in pixels.shape])
    tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape)
    if typed:
        tensor.float_val.extend(pixels.reshape(-1).tolist())
    else:
        tensor.tensor_content = pixels.astype("<f4").tobytes()
    return tensor


def values(tensor, numpy_dtype, typed_field):
    """A TensorProto's elements, from tensor_content or from its typed list."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    if tensor.tensor_content:
        array = np.frombuffer(tensor.tensor_content, dtype=numpy_dtype)
    else:
        array = np.asarray(getattr(tensor, typed_field), dtype=numpy_dtype)
    return array.reshape(shape)


def predict(typed, version=None):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "digits"
    if version is not None:
        request.model_spec.version.value = version
    request.inputs["image"].CopyFrom(image_tensor(typed))
    response = prediction.Predict(request, timeout=T)
    if response.model_spec.name != "digits" or response.model_spec.version.value != 1:
        fail(f"Predict answered model_spec {response.model_spec}")
    if response.outputs["probabilities"].dtype != types_pb2.DT_FLOAT or response.outputs["label"].dtype != types_pb2.DT_INT64:
        fail("Predict answered unexpected output dtypes")
    probabilities = values(response.outputs["probabilities"], "<f4", "float_val")
    label = values(response.outputs["label"], "<i8", "int64_val")
    if list(probabilities.shape) != [1, 10]:
        fail(f"probabilities have shape {list(probabilities.shape)}")
    return result(probabilities, label)


status_request = get_model_status_pb2.GetModelStatusRequest()
status_request.model_spec.name = "digits"
status = models.GetModelStatus(status_request, timeout=T)
versions = [
    {"version": s.version, "state": get_model_status_pb2.ModelVersionStatus.State.Name(s.state), "error_code": s.status.error_code}
    for s in status.model_version_status
]

unknown = predict_pb2.PredictRequest()
unknown.model_spec.name = "no_such_model"
unknown.inputs["image"].CopyFrom(image_tensor(False))
try:
    prediction.Predict(unknown, timeout=T)
    fail("Predict of an unknown model succeeded")
except grpc.RpcError as error:
    unknown_model = {"code": error.code().name, "details": error.details()}

results = {"tfs_grpc": predict(False), "tfs_grpc_typed": predict(True), "tfs_grpc_version": predict(False, version=1)}
check_same(results)
emit({"results": results, "model_status": versions, "unknown_model": unknown_model})
channel.close()
