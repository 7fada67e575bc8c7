"""What the benchmark models' export scripts share: the output path from the command line, seeded
weights, and an ONNX export (input `input`, output `output`, dynamic batch axis, opset 17) written
under a temporary name and moved into place, so the file appears complete or not at all.

Needs Debian's python3-torch (run with /usr/bin/python3, not the python3 on PATH).
"""
import os
import sys
from typing import Callable

import torch


def export_model(default_name: str, build: Callable[[], torch.nn.Module], example_shape: tuple[int, ...]) -> None:
    """Builds the model (after seeding torch) and exports it to argv[1] or bench/models/<default_name>."""
    here = os.path.dirname(os.path.abspath(__file__))
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, default_name)
    torch.manual_seed(0)
    torch.set_num_threads(2)
    model = build().eval()
    example = torch.randn(*example_shape)
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
