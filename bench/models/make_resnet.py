#!/usr/bin/python3
"""Exports a ResNet-18 with random weights (no download) to ONNX for the benchmark suite.

Usage: /usr/bin/python3 bench/models/make_resnet.py [output.onnx]   (default: bench/models/resnet18.onnx)

Needs Debian's python3-torch and python3-torchvision (run with /usr/bin/python3, not the python3 on
PATH). Input `input` FP32 [batch, 3, 224, 224], output `output` FP32 [batch, 1000], dynamic batch
axis, opset 17. Weights are seeded, so every run writes the same model. The file (~45 MB) is
generated, never committed (bench/models/ is git-ignored except this script).
"""
import torchvision

from onnx_export import export_model

if __name__ == "__main__":
    export_model("resnet18.onnx", lambda: torchvision.models.resnet18(weights=None), (1, 3, 224, 224))
