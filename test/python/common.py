"""Shared helpers of the wire-compatibility scripts (run by test/e2e/python-clients.test.ts).

Every script takes the same arguments, calls a running Cranberries server with the digits model,
prints ONE JSON document on stdout and exits non-zero on any mismatch or unexpected answer. Results
are reported as the hex of the little-endian float32 probabilities (so the TypeScript test can
check that every protocol path gives the very same bits) plus the label.
"""
import argparse
import json
import sys

import numpy as np


def arguments(description):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--request", required=True, help="examples/digits/request.json (the 64 pixels)")
    parser.add_argument("--http", help="host:port of the HTTP endpoint")
    parser.add_argument("--grpc", help="host:port of the gRPC endpoint")
    parser.add_argument("--stubs", help="folder with the Python stubs generated from proto/")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per call")
    args = parser.parse_args()
    if args.stubs:
        sys.path.insert(0, args.stubs)
    return args


def digits_pixels(path):
    """The example image as a float32 array of shape [1, 1, 8, 8]."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["inputs"][0]["data"]
    pixels = np.asarray(data, dtype=np.float32).reshape(1, 1, 8, 8)
    if pixels.size != 64:
        fail(f"expected 64 pixels in {path}, got {pixels.size}")
    return pixels


def result(probabilities, label):
    """One protocol path's answer: float32 bits as hex (exact), values, and the label."""
    probabilities = np.asarray(probabilities, dtype=np.float32).reshape(-1)
    label = np.asarray(label).reshape(-1)
    if probabilities.size != 10 or label.size != 1:
        fail(f"digits answered {probabilities.size} probabilities and {label.size} labels; expected 10 and 1")
    if int(label[0]) != int(np.argmax(probabilities)):
        fail(f"label {int(label[0])} is not the argmax {int(np.argmax(probabilities))} of the probabilities")
    return {
        "probabilities_hex": probabilities.astype("<f4").tobytes().hex(),
        "probabilities": [float(v) for v in probabilities],
        "label": int(label[0]),
    }


def check_same(results):
    """Every entry of `results` (name -> result) must be bit-identical to the first."""
    names = list(results)
    first = results[names[0]]
    for name in names[1:]:
        other = results[name]
        if other["probabilities_hex"] != first["probabilities_hex"] or other["label"] != first["label"]:
            fail(f"{name} differs from {names[0]}: {other} vs {first}")


def fail(message):
    print(f"MISMATCH: {message}", file=sys.stderr)
    sys.exit(1)


def emit(document):
    json.dump(document, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
