"""OIP gRPC over TLS from Python: grpcio's ssl_channel_credentials with the test CA (and a client
certificate, for a server that requires mutual TLS). Calls ServerLive and ModelInfer on the digits
model, then checks that a channel without a client certificate is refused. Prints JSON.
"""
import argparse
import sys

import grpc
import numpy as np

from common import digits_pixels, emit, fail, result

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--request", required=True)
parser.add_argument("--grpc", required=True, help="host:port of the TLS gRPC endpoint")
parser.add_argument("--stubs", required=True)
parser.add_argument("--ca", required=True)
parser.add_argument("--cert", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--timeout", type=float, default=30.0)
args = parser.parse_args()
sys.path.insert(0, args.stubs)
import grpc_service_pb2 as pb  # noqa: E402
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402


def read(path):
    with open(path, "rb") as f:
        return f.read()


# The certificate names 127.0.0.1 and localhost; grpcio checks the name against "localhost".
options = [("grpc.ssl_target_name_override", "localhost")]
credentials = grpc.ssl_channel_credentials(root_certificates=read(args.ca), private_key=read(args.key), certificate_chain=read(args.cert))
channel = grpc.secure_channel(args.grpc, credentials, options=options)
stub = pb_grpc.GRPCInferenceServiceStub(channel)
live = stub.ServerLive(pb.ServerLiveRequest(), timeout=args.timeout).live
if not live:
    fail("ServerLive answered live=false over TLS")
pixels = digits_pixels(args.request)
message = pb.ModelInferRequest(model_name="digits", id="tls")
message.inputs.append(pb.ModelInferRequest.InferInputTensor(name="image", datatype="FP32", shape=[1, 1, 8, 8]))
message.raw_input_contents.append(pixels.astype("<f4").tobytes())
response = stub.ModelInfer(message, timeout=args.timeout)
outputs = {t.name: raw for t, raw in zip(response.outputs, response.raw_output_contents)}
digits = result(np.frombuffer(outputs["probabilities"], dtype="<f4"), np.frombuffer(outputs["label"], dtype="<i8"))

# Without a client certificate the mutual-TLS server refuses the connection.
anonymous = grpc.secure_channel(args.grpc, grpc.ssl_channel_credentials(root_certificates=read(args.ca)), options=options)
try:
    pb_grpc.GRPCInferenceServiceStub(anonymous).ServerLive(pb.ServerLiveRequest(), timeout=10)
    refused = None
except grpc.RpcError as error:
    refused = error.code().name

emit({"live": live, "digits": digits, "without_client_certificate": refused})
