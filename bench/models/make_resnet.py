#!/usr/bin/python3
"""Exports a ResNet-18 with random weights (no download) to ONNX for the benchmark suite.

Usage: /usr/bin/python3 bench/models/make_resnet.py [output.onnx]   (default: bench/models/resnet18.onnx)

Needs Debian's python3-torch and python3-torchvision (run with /usr/bin/python3, not the python3 on
PATH). Input `input` FP32 [batch, 3, 224, 224], output `output` FP32 [batch, 1000], dynamic batch
axis, opset 17. Weights are seeded, so every run writes the same model. The file (~45 MB) is
generated, never committed (bench/models/ is git-ignored except this script).
"""
import os
import sys

import torch
import torchvision


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "resnet18.onnx")
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = torchvision.models.resnet18(weights=None).eval()
    example = torch.randn(1, 3, 224, 224)
    partial = target + ".partial"
    with torch.no_grad():
        torch.onnx.export(
            model,
            example,
            partial,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
            do_constant_folding=True,
        )
    os.replace(partial, target)  # appears complete or not at all
    print(f"wrote {target} ({os.path.getsize(target) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
