"""The flow of TF Serving's own gRPC example clients (mnist_client, resnet_client), on the digits model.

Like those clients: the image goes out as `tensor_content` (what tf.make_tensor_proto produces),
requests run concurrently through `stub.Predict.future(...)` with a done-callback, and each answer
is read ONLY from the typed list, `numpy.array(response.outputs[...].float_val)`, then argmax'ed.
That works against TF Serving because it answers in typed lists by default; a server that answered
only in `tensor_content` would give an empty `float_val` here, and the script fails. Prints JSON.
"""
import threading

import grpc
import numpy

from common import arguments, check_same, digits_pixels, emit, fail, result

args = arguments(__doc__)
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2  # noqa: E402  (stubs folder)
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

CONCURRENCY = 4
REQUESTS = 8

pixels = digits_pixels(args.request)
channel = grpc.insecure_channel(args.grpc)
stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)


def make_request():
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "digits"
    request.model_spec.signature_name = "serving_default"
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in pixels.shape])
    request.inputs["image"].CopyFrom(tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=shape, tensor_content=pixels.astype("<f4").tobytes()))
    return request


lock = threading.Condition()
active = 0
answers = []
errors = []


def on_done(result_future):
    global active
    exception = result_future.exception()
    with lock:
        if exception:
            errors.append(f"{exception.code().name}: {exception.details()}")
        else:
            response = result_future.result()
            scores = numpy.array(response.outputs["probabilities"].float_val)
            labels = numpy.array(response.outputs["label"].int64_val)
            answers.append((scores, labels, len(response.outputs["probabilities"].tensor_content)))
        active -= 1
        lock.notify()


for _ in range(REQUESTS):
    with lock:
        while active >= CONCURRENCY:
            lock.wait(args.timeout)
        active += 1
    stub.Predict.future(make_request(), args.timeout).add_done_callback(on_done)
with lock:
    while active > 0:
        if not lock.wait(args.timeout):
            fail("timed out waiting for the Predict futures")

if errors:
    fail(f"Predict failed: {errors[0]}")
results = {}
for i, (scores, labels, content_bytes) in enumerate(answers):
    if content_bytes != 0:
        fail(f"answer {i} also carries {content_bytes} bytes of tensor_content")
    if scores.size != 10:
        fail(f"answer {i}: outputs['probabilities'].float_val holds {scores.size} values, expected 10")
    if int(numpy.argmax(scores)) != int(labels[0]):
        fail(f"answer {i}: argmax {int(numpy.argmax(scores))} of float_val is not the label {int(labels[0])}")
    results[f"tfs_grpc_float_val_{i}"] = result(scores, labels)
check_same(results)
emit({"results": {"tfs_grpc_float_val": results["tfs_grpc_float_val_0"]}, "answers": len(answers)})
channel.close()
