"""System shared memory from Python, following Triton's example clients step by step.

Reproduces the logic of tritonclient's simple_grpc_shm_client.py, simple_http_shm_client.py and
simple_grpc_shm_string_client.py with nothing but grpcio (stubs generated from the project's
protos), numpy, mmap on /dev/shm (what tritonclient.utils.shared_memory does through shm_open +
ftruncate + mmap) and urllib:

1. unregister every system and CUDA region, create and register an input and an output region,
   write INPUT0 and INPUT1 (16 int32 each) into the input region at offsets 0 and 64, infer the
   "simple" add/sub model with both outputs in the output region, read the sum and difference back
   from the region, check the region status, unregister everything;
2. the same over REST (JSON requests, as tritonclient.http sends them);
3. "string shm": BYTES tensors serialized with 4-byte length prefixes in their regions, through
   the "strings" identity model over gRPC;
4. the error answers of a few bad references (unknown region, offset past the region, output
   region too small) over gRPC.

Prints one JSON document; exits non-zero on any mismatch. Every /dev/shm object it creates is
removed before it exits.
"""
import argparse
import json
import mmap
import os
import struct
import sys
import urllib.error
import urllib.request

import numpy as np

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--http", required=True, help="host:port of the HTTP endpoint")
parser.add_argument("--grpc", required=True, help="host:port of the gRPC endpoint")
parser.add_argument("--stubs", required=True, help="folder with the Python stubs generated from proto/")
parser.add_argument("--prefix", required=True, help="prefix of the /dev/shm objects this run creates")
parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
args = parser.parse_args()
sys.path.insert(0, args.stubs)

import grpc  # noqa: E402
import grpc_service_pb2 as pb  # noqa: E402
import grpc_service_pb2_grpc as pb_grpc  # noqa: E402

T = args.timeout
stub = pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(args.grpc))
created = []


def fail(message):
    print(f"MISMATCH: {message}", file=sys.stderr)
    cleanup()
    sys.exit(1)


def cleanup():
    for path in created:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


class Region:
    """A POSIX shared memory object created and mapped as tritonclient.utils.shared_memory does."""

    def __init__(self, name, byte_size):
        self.key = f"/{args.prefix}_{name}"
        self.path = "/dev/shm" + self.key
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        created.append(self.path)
        os.ftruncate(fd, byte_size)
        self.map = mmap.mmap(fd, byte_size)
        os.close(fd)

    def set(self, values, offset=0):
        """set_shared_memory_region: numpy arrays (or serialized bytes) back to back from `offset`."""
        for value in values:
            data = value if isinstance(value, bytes) else value.tobytes()
            self.map[offset:offset + len(data)] = data
            offset += len(data)

    def numpy(self, dtype, shape, offset=0):
        """get_contents_as_numpy for numeric tensors."""
        count = int(np.prod(shape))
        return np.frombuffer(self.map, dtype=dtype, count=count, offset=offset).reshape(shape).copy()

    def strings(self, count, offset=0):
        """get_contents_as_numpy for BYTES: `count` length-prefixed elements."""
        out = []
        for _ in range(count):
            (length,) = struct.unpack_from("<I", self.map, offset)
            out.append(bytes(self.map[offset + 4:offset + 4 + length]))
            offset += 4 + length
        return out


def serialize_byte_tensor(elements):
    """tritonclient.utils.serialize_byte_tensor: <uint32 LE length><bytes> per element."""
    return b"".join(struct.pack("<I", len(e)) + e for e in elements)


def shm_params(message_parameters, region, byte_size, offset=0):
    """InferInput/InferRequestedOutput.set_shared_memory of tritonclient.grpc."""
    message_parameters["shared_memory_region"].string_param = region
    message_parameters["shared_memory_byte_size"].int64_param = byte_size
    if offset != 0:
        message_parameters["shared_memory_offset"].int64_param = offset


def rest(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://{args.http}{path}", data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=T) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read().decode() or "null")


input0 = np.arange(start=0, stop=16, dtype=np.int32)
input1 = np.ones(shape=16, dtype=np.int32)
byte_size = input0.size * input0.itemsize
document = {}

try:
    # 1. simple_grpc_shm_client.py
    stub.SystemSharedMemoryUnregister(pb.SystemSharedMemoryUnregisterRequest(), timeout=T)
    stub.CudaSharedMemoryUnregister(pb.CudaSharedMemoryUnregisterRequest(), timeout=T)
    out_region = Region("grpc_output", byte_size * 2)
    stub.SystemSharedMemoryRegister(pb.SystemSharedMemoryRegisterRequest(name="output_data", key=out_region.key, offset=0, byte_size=byte_size * 2), timeout=T)
    in_region = Region("grpc_input", byte_size * 2)
    in_region.set([input0])
    in_region.set([input1], offset=byte_size)
    stub.SystemSharedMemoryRegister(pb.SystemSharedMemoryRegisterRequest(name="input_data", key=in_region.key, offset=0, byte_size=byte_size * 2), timeout=T)

    request = pb.ModelInferRequest(model_name="simple")
    for name, offset in (("INPUT0", 0), ("INPUT1", byte_size)):
        tensor = request.inputs.add(name=name, datatype="INT32", shape=[1, 16])
        shm_params(tensor.parameters, "input_data", byte_size, offset)
    for name, offset in (("OUTPUT0", 0), ("OUTPUT1", byte_size)):
        shm_params(request.outputs.add(name=name).parameters, "output_data", byte_size, offset)
    response = stub.ModelInfer(request, timeout=T)
    outputs = {o.name: o for o in response.outputs}
    if set(outputs) != {"OUTPUT0", "OUTPUT1"}:
        fail(f"gRPC: outputs {sorted(outputs)}")
    sum0 = out_region.numpy(np.int32, list(outputs["OUTPUT0"].shape))
    diff = out_region.numpy(np.int32, list(outputs["OUTPUT1"].shape), offset=byte_size)
    if not (np.array_equal(sum0[0], input0 + input1) and np.array_equal(diff[0], input0 - input1)):
        fail(f"gRPC: sum {sum0.tolist()} difference {diff.tolist()}")
    status = stub.SystemSharedMemoryStatus(pb.SystemSharedMemoryStatusRequest(), timeout=T)
    document["grpc_status"] = {name: {"key": r.key, "offset": r.offset, "byte_size": r.byte_size} for name, r in status.regions.items()}
    document["grpc_raw_output_sizes"] = [len(raw) for raw in response.raw_output_contents]
    document["grpc_sum"] = sum0[0].tolist()
    document["grpc_difference"] = diff[0].tolist()
    stub.SystemSharedMemoryUnregister(pb.SystemSharedMemoryUnregisterRequest(), timeout=T)
    document["grpc_status_after_unregister"] = len(stub.SystemSharedMemoryStatus(pb.SystemSharedMemoryStatusRequest(), timeout=T).regions)

    # 2. simple_http_shm_client.py (tritonclient.http sends binary_data false with set_shared_memory)
    rest("POST", "/v2/systemsharedmemory/unregister")
    rest("POST", "/v2/cudasharedmemory/unregister")
    out_region = Region("http_output", byte_size * 2)
    in_region = Region("http_input", byte_size * 2)
    in_region.set([input0])
    in_region.set([input1], offset=byte_size)
    for name, region in (("output_data", out_region), ("input_data", in_region)):
        code, body = rest("POST", f"/v2/systemsharedmemory/region/{name}/register", {"key": region.key, "offset": 0, "byte_size": byte_size * 2})
        if code != 200:
            fail(f"HTTP register {name}: {code} {body}")
    code, body = rest("POST", "/v2/models/simple/infer", {
        "inputs": [
            {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "parameters": {"shared_memory_region": "input_data", "shared_memory_byte_size": byte_size}},
            {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "parameters": {"shared_memory_region": "input_data", "shared_memory_byte_size": byte_size, "shared_memory_offset": byte_size}},
        ],
        "outputs": [
            {"name": "OUTPUT0", "parameters": {"binary_data": False, "shared_memory_region": "output_data", "shared_memory_byte_size": byte_size}},
            {"name": "OUTPUT1", "parameters": {"binary_data": False, "shared_memory_region": "output_data", "shared_memory_byte_size": byte_size, "shared_memory_offset": byte_size}},
        ],
    })
    if code != 200:
        fail(f"HTTP infer: {code} {body}")
    outputs = {o["name"]: o for o in body["outputs"]}
    document["http_outputs"] = body["outputs"]
    sum0 = out_region.numpy(np.int32, outputs["OUTPUT0"]["shape"])
    diff = out_region.numpy(np.int32, outputs["OUTPUT1"]["shape"], offset=byte_size)
    document["http_sum"] = sum0[0].tolist()
    document["http_difference"] = diff[0].tolist()
    document["http_status"] = rest("GET", "/v2/systemsharedmemory/status")[1]
    rest("POST", "/v2/systemsharedmemory/unregister")
    document["http_status_after_unregister"] = rest("GET", "/v2/systemsharedmemory/status")[1]

    # 3. simple_grpc_shm_string_client.py, through an identity model of BYTES
    strings = [str(x).encode("utf-8") for x in input0]
    serialized = serialize_byte_tensor(strings)
    in_region = Region("string_input", len(serialized))
    in_region.set([serialized])
    out_region = Region("string_output", len(serialized))
    stub.SystemSharedMemoryRegister(pb.SystemSharedMemoryRegisterRequest(name="input0_data", key=in_region.key, byte_size=len(serialized)), timeout=T)
    stub.SystemSharedMemoryRegister(pb.SystemSharedMemoryRegisterRequest(name="output0_data", key=out_region.key, byte_size=len(serialized)), timeout=T)
    request = pb.ModelInferRequest(model_name="strings")
    shm_params(request.inputs.add(name="INPUT0", datatype="BYTES", shape=[16]).parameters, "input0_data", len(serialized))
    shm_params(request.outputs.add(name="OUTPUT0").parameters, "output0_data", len(serialized))
    response = stub.ModelInfer(request, timeout=T)
    document["string_output"] = {"datatype": response.outputs[0].datatype, "shape": list(response.outputs[0].shape)}
    document["strings_equal"] = out_region.strings(16) == strings

    # 4. bad references, as the gRPC client sees them
    def error_of(make_request):
        try:
            stub.ModelInfer(make_request(), timeout=T)
        except grpc.RpcError as error:
            return {"code": error.code().name, "details": error.details()}
        return None

    def string_request(region, size, offset=0, output_region="output0_data", output_size=None):
        request = pb.ModelInferRequest(model_name="strings")
        shm_params(request.inputs.add(name="INPUT0", datatype="BYTES", shape=[16]).parameters, region, size, offset)
        shm_params(request.outputs.add(name="OUTPUT0").parameters, output_region, output_size or len(serialized))
        return request

    small = Region("string_small", 8)
    stub.SystemSharedMemoryRegister(pb.SystemSharedMemoryRegisterRequest(name="small", key=small.key, byte_size=8), timeout=T)
    document["errors"] = {
        "unknown_region": error_of(lambda: string_request("no_such_region", len(serialized))),
        "offset_past_region": error_of(lambda: string_request("input0_data", 4, offset=len(serialized))),
        "output_too_small": error_of(lambda: string_request("input0_data", len(serialized), output_region="small", output_size=8)),
    }
    stub.SystemSharedMemoryUnregister(pb.SystemSharedMemoryUnregisterRequest(), timeout=T)
except grpc.RpcError as error:
    fail(f"gRPC call failed: {error.code().name}: {error.details()}")
finally:
    cleanup()

document["left_in_dev_shm"] = [path for path in created if os.path.exists(path)]
json.dump(document, sys.stdout, sort_keys=True)
sys.stdout.write("\n")
