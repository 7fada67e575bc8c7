"""Open Inference Protocol over gRPC from Python, with stubs generated from the project's protos.

Calls ServerLive, ModelMetadata, ModelInfer with typed `fp32_contents` and with
`raw_input_contents`, ModelStreamInfer (two good requests around a bad one, matched by id), and
checks the error status of an unknown model. Prints the results as JSON.
"""
import grpc
import numpy as np

from common import arguments, check_same, digits_pixels, emit, fail, result

args = arguments(__doc__)
import grpc_service_pb2 as pb  # noqa: E402  (needs the stubs folder on sys.path)
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402

pixels = digits_pixels(args.request)
channel = grpc.insecure_channel(args.grpc)
stub = pb_grpc.GRPCInferenceServiceStub(channel)
T = args.timeout


def decode(response):
    """Outputs by name from raw_output_contents (what Triton and Cranberries send)."""
    if len(response.raw_output_contents) != len(response.outputs):
        fail(f"{len(response.outputs)} outputs but {len(response.raw_output_contents)} raw_output_contents")
    dtypes = {"FP32": "<f4", "INT64": "<i8"}
    out = {}
    for tensor, raw in zip(response.outputs, response.raw_output_contents):
        out[tensor.name] = np.frombuffer(raw, dtype=dtypes[tensor.datatype]).reshape(list(tensor.shape))
    if list(out["probabilities"].shape) != [1, 10] or list(out["label"].shape) != [1, 1]:
        fail(f"unexpected output shapes {[(k, v.shape) for k, v in out.items()]}")
    return result(out["probabilities"], out["label"])


def request(typed, request_id):
    tensor = pb.ModelInferRequest.InferInputTensor(name="image", datatype="FP32", shape=[1, 1, 8, 8])
    message = pb.ModelInferRequest(model_name="digits", id=request_id)
    if typed:
        tensor.contents.fp32_contents.extend(pixels.reshape(-1).tolist())
        message.inputs.append(tensor)
    else:
        message.inputs.append(tensor)
        message.raw_input_contents.append(pixels.astype("<f4").tobytes())
    return message


live = stub.ServerLive(pb.ServerLiveRequest(), timeout=T).live
metadata = stub.ModelMetadata(pb.ModelMetadataRequest(name="digits"), timeout=T)
if not live:
    fail("ServerLive answered live=false")

typed_response = stub.ModelInfer(request(True, "typed"), timeout=T)
raw_response = stub.ModelInfer(request(False, "raw"), timeout=T)
if typed_response.id != "typed" or raw_response.id != "raw" or raw_response.model_version != "1":
    fail(f"ids/version not echoed: {typed_response.id!r} {raw_response.id!r} {raw_response.model_version!r}")

bad = pb.ModelInferRequest(model_name="no_such_model", id="bad")
bad.inputs.append(pb.ModelInferRequest.InferInputTensor(name="image", datatype="FP32", shape=[1]))
bad.raw_input_contents.append(np.zeros(1, dtype="<f4").tobytes())
stream_responses = list(stub.ModelStreamInfer(iter([request(False, "s1"), bad, request(True, "s3")]), timeout=T))
if len(stream_responses) != 3:
    fail(f"the stream answered {len(stream_responses)} messages for 3 requests")
errors = [r.error_message for r in stream_responses if r.error_message]
by_id = {r.infer_response.id: r.infer_response for r in stream_responses if not r.error_message}
if len(errors) != 1 or "no_such_model" not in errors[0]:
    fail(f"expected one stream error naming the unknown model, got {errors}")
if sorted(by_id) != ["s1", "s3"]:
    fail(f"stream responses are not matched by id: {sorted(by_id)}")

try:
    stub.ModelInfer(bad, timeout=T)
    fail("ModelInfer of an unknown model succeeded")
except grpc.RpcError as error:
    unknown_model = {"code": error.code().name, "details": error.details()}

results = {
    "oip_grpc_typed": decode(typed_response),
    "oip_grpc_raw": decode(raw_response),
    "oip_grpc_stream": decode(by_id["s1"]),
    "oip_grpc_stream_typed": decode(by_id["s3"]),
}
check_same(results)
emit({
    "live": live,
    "metadata": {
        "name": metadata.name,
        "versions": list(metadata.versions),
        "platform": metadata.platform,
        "inputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in metadata.inputs],
        "outputs": [{"name": t.name, "datatype": t.datatype, "shape": list(t.shape)} for t in metadata.outputs],
    },
    "results": results,
    "stream_error": errors[0],
    "unknown_model": unknown_model,
})
channel.close()
