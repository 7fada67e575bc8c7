"""A Triton Python-backend model (runs unchanged on Triton): a zero-phase Butterworth low-pass
filter (SciPy) over each row of SIGNAL, and each row's dominant frequency (NumPy's FFT).
`sample_rate_hz` and `cutoff_hz` come from the config's parameters."""
import json

import numpy as np
import triton_python_backend_utils as pb_utils
from scipy import signal


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        parameters = config.get("parameters", {})
        self.rate = float(parameters["sample_rate_hz"]["string_value"])
        cutoff = float(parameters["cutoff_hz"]["string_value"])
        self.sos = signal.butter(4, cutoff, btype="lowpass", fs=self.rate, output="sos")

    def execute(self, requests):
        responses = []
        for request in requests:
            rows = pb_utils.get_input_tensor_by_name(request, "SIGNAL").as_numpy()
            if rows.shape[1] < 16:
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(
                    f"SIGNAL needs at least 16 samples per row, got {rows.shape[1]}", pb_utils.TritonError.INVALID_ARG)))
                continue
            filtered = signal.sosfiltfilt(self.sos, rows, axis=1).astype(np.float32)
            spectrum = np.abs(np.fft.rfft(rows - rows.mean(axis=1, keepdims=True), axis=1))
            frequencies = np.fft.rfftfreq(rows.shape[1], d=1.0 / self.rate)
            dominant = frequencies[spectrum.argmax(axis=1)].astype(np.float32).reshape(-1, 1)
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor("FILTERED", filtered),
                pb_utils.Tensor("DOMINANT_HZ", dominant),
            ]))
        return responses
