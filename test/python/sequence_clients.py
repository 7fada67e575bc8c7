"""The logic of Triton's sequence example clients, from Python, against a running server.

Reproduces simple_grpc_sequence_sync_infer_client.py, simple_http_sequence_sync_infer_client.py and
simple_grpc_sequence_stream_infer_client.py, each with and without --dyna: three sequences (int
ids 1000 and 1001, and a string id: a UUID on simple_sequence, "1102" on the dyna models; each transport shifts the ids) of the
values [0|100|20] + (+/-)[11, 7, 5, 3, 2, 0, 1], sent as tritonclient sends them (gRPC
`sequence_id` as int64_param / string_param, REST as a JSON number / string with the binary tensor
extension), and checks every answer with the example clients' own expectations. Prints one JSON
document (the outputs per transport and model set); exits non-zero on any mismatch.
"""
import argparse
import json
import sys
import urllib.request
import uuid

import grpc
import numpy as np

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--http", required=True)
parser.add_argument("--grpc", required=True)
parser.add_argument("--stubs", required=True)
parser.add_argument("--timeout", type=float, default=30.0)
args = parser.parse_args()
sys.path.insert(0, args.stubs)
import grpc_service_pb2 as pb  # noqa: E402
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402

VALUES = [11, 7, 5, 3, 2, 0, 1]
stub = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(args.grpc))


def fail(message):
    print(f"MISMATCH: {message}", file=sys.stderr)
    sys.exit(1)


def grpc_request(model, value, sequence_id, start, end, request_id=""):
    message = pb.ModelInferRequest(model_name=model, id=request_id)
    message.inputs.append(pb.ModelInferRequest.InferInputTensor(name="INPUT", datatype="INT32", shape=[1, 1]))
    message.outputs.append(pb.ModelInferRequest.InferRequestedOutputTensor(name="OUTPUT"))
    message.raw_input_contents.append(np.full([1, 1], value, dtype="<i4").tobytes())
    if isinstance(sequence_id, str):
        message.parameters["sequence_id"].string_param = sequence_id
    else:
        message.parameters["sequence_id"].int64_param = sequence_id
    message.parameters["sequence_start"].bool_param = start
    message.parameters["sequence_end"].bool_param = end
    return message


def grpc_output(response):
    names = [o.name for o in response.outputs]
    if names != ["OUTPUT"] or list(response.outputs[0].shape) != [1, 1]:
        fail(f"unexpected outputs {[(o.name, list(o.shape)) for o in response.outputs]}")
    return int(np.frombuffer(response.raw_output_contents[0], dtype="<i4")[0])


def grpc_sync(model, values, sequence_id):
    n = len(values)
    return [grpc_output(stub.ModelInfer(grpc_request(model, v, sequence_id, i == 0, i == n - 1), timeout=args.timeout)) for i, v in enumerate(values)]


def http_sync(model, values, sequence_id):
    results = []
    for i, value in enumerate(values):
        raw = np.full([1, 1], value, dtype="<i4").tobytes()
        header = json.dumps({
            "inputs": [{"name": "INPUT", "datatype": "INT32", "shape": [1, 1], "parameters": {"binary_data_size": len(raw)}}],
            "outputs": [{"name": "OUTPUT", "parameters": {"binary_data": True}}],
            "parameters": {"sequence_id": sequence_id, "sequence_start": i == 0, "sequence_end": i == len(values) - 1},
        }).encode()
        request = urllib.request.Request(
            f"http://{args.http}/v2/models/{model}/infer",
            data=header + raw,
            headers={"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=args.timeout) as response:
            body = response.read()
            length = int(response.headers.get("Inference-Header-Content-Length", len(body)))
        document = json.loads(body[:length])
        output = document["outputs"][0]
        if output["name"] != "OUTPUT" or output["shape"] != [1, 1]:
            fail(f"unexpected REST output {output}")
        results.append(int(np.frombuffer(body[length:length + 4], dtype="<i4")[0]))
    return results


def grpc_stream(sequences):
    """All requests of all sequences on one stream, ids "<sequence id>_<count>", answers matched by id."""
    requests = []
    for model, values, sequence_id in sequences:
        for i, value in enumerate(values):
            requests.append(grpc_request(model, value, sequence_id, i == 0, i == len(values) - 1, f"{sequence_id}_{i + 1}"))
    results = {str(sequence_id): [] for _, _, sequence_id in sequences}
    for response in stub.ModelStreamInfer(iter(requests), timeout=args.timeout):
        if response.error_message:
            fail(f"stream error: {response.error_message}")
        owner = response.infer_response.id.rsplit("_", 1)[0]
        results[owner].append(grpc_output(response.infer_response))
    return [results[str(sequence_id)] for _, _, sequence_id in sequences]


def check(dyna, int0, int1, string0, ids):
    """The example clients' expectations, computed as they compute them."""
    int_id0, int_id1, string_id = ids
    if not (len(int0) == len(int1) == len(string0) == len(VALUES) + 1):
        fail(f"answers missing: {len(int0)} {len(int1)} {len(string0)}")
    for i in range(len(int0)):
        int0_expected = 1 if i == 0 else VALUES[i - 1]
        int1_expected = 101 if i == 0 else -VALUES[i - 1]
        if i == 0:
            string_expected = 20 if dyna else 21
        elif dyna:
            string_expected = -VALUES[i - 1] + string0[i - 1]
        else:
            string_expected = -VALUES[i - 1]
        if dyna and i != 0 and VALUES[i - 1] == 1:
            int0_expected += int_id0
            int1_expected += int_id1
            string_expected += int(string_id)
        if (int0[i], int1[i], string0[i]) != (int0_expected, int1_expected, string_expected):
            fail(f"dyna={dyna} [{i}] {int0[i]} : {int1[i]} : {string0[i]}, expected {int0_expected} : {int1_expected} : {string_expected}")


document = {}
for offset, transport in enumerate(["grpc_sync", "http_sync", "grpc_stream"]):
    for dyna in (False, True):
        int_model = "simple_dyna_sequence" if dyna else "simple_sequence"
        string_model = "simple_string_dyna_sequence" if dyna else "simple_sequence"
        ids = (1000 + offset * 2, 1001 + offset * 2, str(1102 + offset) if dyna else str(uuid.uuid4()))
        sequences = [
            (int_model, [0] + VALUES, ids[0]),
            (int_model, [100] + [-v for v in VALUES], ids[1]),
            (string_model, [20] + [-v for v in VALUES], ids[2]),
        ]
        if transport == "grpc_stream":
            answers = grpc_stream(sequences)
        else:
            send = grpc_sync if transport == "grpc_sync" else http_sync
            answers = [send(model, values, sequence_id) for model, values, sequence_id in sequences]
        check(dyna, *answers, ids)
        document[f"{transport}{'_dyna' if dyna else ''}"] = answers

# Triton's refusal of a request without a correlation id, as a Python gRPC client sees it.
try:
    plain = pb.ModelInferRequest(model_name="simple_sequence")
    plain.inputs.append(pb.ModelInferRequest.InferInputTensor(name="INPUT", datatype="INT32", shape=[1, 1]))
    plain.raw_input_contents.append(np.zeros([1, 1], dtype="<i4").tobytes())
    stub.ModelInfer(plain, timeout=args.timeout)
    fail("a request without a sequence id was served")
except grpc.RpcError as error:
    document["no_sequence_id"] = {"code": error.code().name, "details": error.details()}

json.dump(document, sys.stdout, sort_keys=True)
sys.stdout.write("\n")
