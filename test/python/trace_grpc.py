"""The trace extension over gRPC from Python, the way tritonclient's get/update_trace_settings
build their messages (a value list per setting; a setting named without values clears it).

Reads the global settings, gives the digits model its own rate and level, sends one traced
ModelInfer, clears the model's rate again, and checks that a bad count is refused with
INVALID_ARGUMENT. Prints the answers as JSON.
"""
import grpc

from common import arguments, digits_pixels, emit, fail

args = arguments(__doc__)
import grpc_service_pb2 as pb  # noqa: E402  (needs the stubs folder on sys.path)
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402

stub = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(args.grpc))
T = args.timeout


def settings_request(model_name="", **settings):
    request = pb.TraceSettingRequest(model_name=model_name)
    for key, value in settings.items():
        if value is None:
            request.settings[key]  # named without values: clear it (tritonclient does this for None)
        elif isinstance(value, list):
            request.settings[key].value.extend(value)
        else:
            request.settings[key].value.append(value)
    return request


def as_dict(response):
    return {key: list(setting.value) for key, setting in response.settings.items()}


out = {"global": as_dict(stub.TraceSetting(settings_request(), timeout=T))}
out["model"] = as_dict(stub.TraceSetting(settings_request("digits", trace_rate="1", trace_level=["TIMESTAMPS"]), timeout=T))

tensor = pb.ModelInferRequest.InferInputTensor(name="image", datatype="FP32", shape=[1, 1, 8, 8])
tensor.contents.fp32_contents.extend(digits_pixels(args.request).reshape(-1).tolist())
infer = pb.ModelInferRequest(model_name="digits", id="py-traced")
infer.inputs.append(tensor)
stub.ModelInfer(infer, timeout=T)

out["model_cleared"] = as_dict(stub.TraceSetting(settings_request("digits", trace_rate=None), timeout=T))
try:
    stub.TraceSetting(settings_request(trace_count="-5"), timeout=T)
    fail("trace_count -5 was accepted")
except grpc.RpcError as error:
    out["bad_count"] = {"code": error.code().name, "details": error.details()}
emit(out)
