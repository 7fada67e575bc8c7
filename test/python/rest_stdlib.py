"""OIP REST and TensorFlow Serving REST from Python's standard library (urllib.request only).

OIP JSON, OIP binary tensor extension with `Inference-Header-Content-Length` built by hand
(Triton's binary tensor data extension), TF Serving `:predict` in row (`instances`) and columnar (`inputs`) formats, TF
Serving model status, and the error answers of an unknown model. Prints the results as JSON.
"""
import json
import struct
import urllib.error
import urllib.request

import numpy as np

from common import arguments, check_same, digits_pixels, emit, fail, result

args = arguments(__doc__)
pixels = digits_pixels(args.request)
BASE = f"http://{args.http}"


def call(method, path, body=None, headers=None):
    """(status, headers, body bytes); HTTP errors are answers too."""
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=args.timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def post_json(path, document):
    status, headers, body = call("POST", path, json.dumps(document).encode(), {"Content-Type": "application/json"})
    if status != 200:
        fail(f"POST {path} answered {status}: {body[:300]!r}")
    return headers, body


# OIP REST, plain JSON.
_, body = post_json("/v2/models/digits/infer", {
    "inputs": [{"name": "image", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": pixels.reshape(-1).tolist()}],
})
answer = json.loads(body)
outputs = {o["name"]: o for o in answer["outputs"]}
oip_json = result(outputs["probabilities"]["data"], outputs["label"]["data"])

# OIP REST, binary tensor extension: JSON header, then the raw little-endian tensor bytes.
tensor = pixels.astype("<f4").tobytes()
header = json.dumps({
    "inputs": [{"name": "image", "shape": [1, 1, 8, 8], "datatype": "FP32", "parameters": {"binary_data_size": len(tensor)}}],
    "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}, {"name": "label", "parameters": {"binary_data": True}}],
}).encode()
status, headers, body = call("POST", "/v2/models/digits/infer", header + tensor, {
    "Inference-Header-Content-Length": str(len(header)),
    "Content-Type": "application/octet-stream",
})
if status != 200:
    fail(f"binary infer answered {status}: {body[:300]!r}")
json_length = int(headers["Inference-Header-Content-Length"])
answer = json.loads(body[:json_length])
offset = json_length
tail = {}
for output in answer["outputs"]:
    size = output["parameters"]["binary_data_size"]
    tail[output["name"]] = body[offset:offset + size]
    offset += size
if offset != len(body):
    fail(f"{len(body) - offset} bytes of the binary answer belong to no output")
probabilities = np.frombuffer(tail["probabilities"], dtype="<f4")
(label,) = struct.unpack("<q", tail["label"])
oip_binary = result(probabilities, [label])

# TF Serving REST, row format: one instance = one image [1, 8, 8]; two outputs -> objects per row.
_, body = post_json("/v1/models/digits:predict", {"instances": pixels.tolist()})
predictions = json.loads(body)["predictions"]
if len(predictions) != 1:
    fail(f"row predict answered {len(predictions)} predictions for 1 instance")
tfs_row = result(predictions[0]["probabilities"], predictions[0]["label"])

# TF Serving REST, columnar format: named inputs -> named outputs.
_, body = post_json("/v1/models/digits/versions/1:predict", {"inputs": {"image": pixels.tolist()}})
columns = json.loads(body)["outputs"]
tfs_columnar = result(columns["probabilities"], columns["label"])

status, _, body = call("GET", "/v1/models/digits")
if status != 200:
    fail(f"TF Serving model status answered {status}")
model_status = json.loads(body)

errors = {}
for name, (method, path, document) in {
    "oip_unknown_model": ("POST", "/v2/models/no_such_model/infer", {"inputs": []}),
    "tfs_unknown_model": ("POST", "/v1/models/no_such_model:predict", {"instances": [1.0]}),
}.items():
    status, headers, body = call(method, path, json.dumps(document).encode())
    errors[name] = {"status": status, "body": json.loads(body)}

results = {"oip_rest_json": oip_json, "oip_rest_binary": oip_binary, "tfs_rest_row": tfs_row, "tfs_rest_columnar": tfs_columnar}
check_same(results)
emit({"results": results, "model_status": model_status, "errors": errors})
