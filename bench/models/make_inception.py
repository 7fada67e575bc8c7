#!/usr/bin/python3
"""Exports torchvision's Inception v3 with random weights (no download) to ONNX for benchmark B11.

Usage: /usr/bin/python3 bench/models/make_inception.py [output.onnx]   (default: bench/models/inception_v3.onnx)

The same architecture as the bundled models/inception_v3 (a Keras Inception v3 from nsfwjs, served
through TensorFlow.js), as its ONNX export: torchvision's inception_v3 without the auxiliary head,
1000 classes (the bundled model has 5; the last layer is a negligible part of the cost). Needs
Debian's python3-torch and python3-torchvision (run with /usr/bin/python3, not the python3 on PATH).
Input `input` FP32 [batch, 3, 299, 299] (NCHW), output `output` FP32 [batch, 1000], dynamic batch
axis, opset 17. Weights are seeded, so every run writes the same model. The file (~95 MB) is
generated, never committed (bench/models/ is git-ignored except the scripts).
"""
import torchvision

from onnx_export import export_model

if __name__ == "__main__":
    # init_weights=False: PyTorch's default initialisation (torchvision's own draws truncated normals
    # through scipy, slowly); the values do not change the cost of a run.
    export_model(
        "inception_v3.onnx",
        lambda: torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False),
        (1, 3, 299, 299),
    )
