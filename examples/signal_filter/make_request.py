#!/usr/bin/python3
"""Write the `signal_filter` example request and what the model must answer.

The signal: 2 s at 100 Hz of a 2 Hz sine plus a weaker 30 Hz tone (deterministic). The model
(models/signal_filter/1/model.py) removes the 30 Hz tone with a 5 Hz low-pass filter; the expected
answer is computed here with the same SciPy calls, outside the server.

Writes examples/signal_filter/request.json and request.expected.json.
Run with Debian's Python: /usr/bin/python3 examples/signal_filter/make_request.py
"""
import json
import os

import numpy as np
from scipy import signal

HERE = os.path.dirname(os.path.abspath(__file__))
RATE = 100.0
t = np.arange(200) / RATE
samples = (np.sin(2 * np.pi * 2 * t) + 0.5 * np.sin(2 * np.pi * 30 * t)).astype(np.float32)
rounded = np.round(samples, 4).astype(np.float32)
sos = signal.butter(4, 5.0, btype="lowpass", fs=RATE, output="sos")
filtered = signal.sosfiltfilt(sos, rounded.reshape(1, -1), axis=1).astype(np.float32)[0]

with open(os.path.join(HERE, "request.json"), "w") as f:
    json.dump({"inputs": [{"name": "SIGNAL", "shape": [1, len(rounded)], "datatype": "FP32", "data": [float(v) for v in rounded]}]}, f)
    f.write("\n")
with open(os.path.join(HERE, "request.expected.json"), "w") as f:
    json.dump({
        "dominant_hz": 2.0,
        "filtered": [round(float(v), 4) for v in filtered],
        # The residual of the 30 Hz tone after filtering (the clean 2 Hz sine subtracted).
        "max_abs_residual": round(float(np.abs(filtered - np.sin(2 * np.pi * 2 * t))[20:-20].max()), 4),
    }, f)
    f.write("\n")
