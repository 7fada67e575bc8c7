"""One model instance in its own process: reads frames from fd 3, answers on fd 4.

Three runtimes, chosen by the server from the model file: a Triton ``model.py`` (``TritonPythonModel``),
a scikit-learn estimator (``model.joblib`` / ``model.pkl``) and a TorchScript module (``model.pt``).
stdout and stderr go to the server log.
"""
import importlib.util
import json
import os
import sys
import traceback

import numpy as np

from . import pb_utils
from .wire import NUMPY_OF, BodyWriter, FrameWriter, datatype_of, decode_tensor, read_frame

IN_FD, OUT_FD = 3, 4
MAX_MESSAGE = 2000

_CODES = {
    pb_utils.TritonError.INVALID_ARG: "INVALID_ARGUMENT",
    pb_utils.TritonError.NOT_FOUND: "NOT_FOUND",
    pb_utils.TritonError.UNAVAILABLE: "UNAVAILABLE",
    pb_utils.TritonError.UNSUPPORTED: "UNIMPLEMENTED",
    pb_utils.TritonError.ALREADY_EXISTS: "ALREADY_EXISTS",
    pb_utils.TritonError.CANCELLED: "CANCELLED",
}


class ModelError(Exception):
    """An error with the status the client should see."""

    def __init__(self, message, code="INTERNAL"):
        super().__init__(message)
        self.code = code


def describe(error):
    if isinstance(error, ModelError):
        return {"message": str(error)[:MAX_MESSAGE], "code": error.code}
    text = str(error)
    name = type(error).__name__
    message = text if isinstance(error, pb_utils.TritonModelException) else (f"{name}: {text}" if text else name)
    return {"message": message[:MAX_MESSAGE], "code": "INTERNAL"}


def missing_package(error, module, package):
    return ModelError(
        f"{module} is not installed for {sys.executable} (Debian package {package}: apt-get install {package}): {error}",
        "UNAVAILABLE")


def to_declared(array, datatype):
    """``array`` as the datatype the config declares for it (None: as it is)."""
    if not isinstance(array, np.ndarray):
        array = np.asarray(array)
    if datatype is None:
        if datatype_of(array) is None:
            raise ModelError(f"an output has dtype {array.dtype}, which no protocol datatype carries")
        return array, datatype_of(array)
    if datatype == "BYTES":
        if array.dtype != np.object_:
            flat = [x if isinstance(x, bytes) else str(x).encode("utf-8") for x in array.reshape(-1).tolist()]
            array = np.array(flat + [None], dtype=np.object_)[:-1].reshape(array.shape)
        return array, datatype
    if datatype == "BF16":
        if array.dtype == np.uint16:
            return array, datatype
        bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
        rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16  # round to nearest even
        return rounded.astype(np.uint16), datatype
    target = NUMPY_OF[datatype]
    if array.dtype != target:
        array = array.astype(target)
    return array, datatype


class PythonModel:
    """A Triton ``model.py``: ``TritonPythonModel`` with ``initialize``, ``execute``, ``finalize``."""

    joins_batch = False

    def __init__(self, init):
        path = init["model_path"]
        sys.path.insert(0, os.path.dirname(path))
        spec = importlib.util.spec_from_file_location("model", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["model"] = module
        spec.loader.exec_module(module)
        if not hasattr(module, "TritonPythonModel"):
            raise ModelError(f"{os.path.basename(path)} defines no class TritonPythonModel", "INVALID_ARGUMENT")
        self.model = module.TritonPythonModel()
        if hasattr(self.model, "initialize"):
            self.model.initialize(dict(init["args"]))
        self.model_name = init["args"]["model_name"]
        version = init["args"]["model_version"]
        self.model_version = int(version) if version.isdigit() else -1

    def signature(self):
        return None

    def execute(self, requests, output_names):
        batch = [
            pb_utils.InferenceRequest(
                [pb_utils.Tensor(name, array) for name, array in inputs],
                requested_output_names=output_names,
                model_name=self.model_name,
                model_version=self.model_version,
            )
            for inputs in requests
        ]
        responses = self.model.execute(batch)
        if responses is None or len(responses) != len(batch):
            got = "None" if responses is None else str(len(responses))
            raise ModelError(f"execute() returned {got} responses for {len(batch)} requests")
        results = []
        for response in responses:
            if not isinstance(response, pb_utils.InferenceResponse):
                raise ModelError(f"execute() returned a {type(response).__name__}, not an InferenceResponse")
            if response.has_error():
                error = response.error()
                code = _CODES.get(error.code(), "INTERNAL") if hasattr(error, "code") else "INTERNAL"
                results.append({"error": {"message": str(error.message())[:MAX_MESSAGE], "code": code}})
                continue
            results.append({"outputs": [(t.name(), t.as_numpy()) for t in response.output_tensors()]})
        return results

    def finalize(self):
        if hasattr(self.model, "finalize"):
            self.model.finalize()


class SklearnModel:
    """A pickled scikit-learn estimator: ``predict`` and, where it has it, ``predict_proba``."""

    joins_batch = True

    def __init__(self, init):
        try:
            import sklearn  # noqa: F401  (a clear message before unpickling needs it)
        except ImportError as error:
            raise missing_package(error, "scikit-learn", "python3-sklearn")
        path = init["model_path"]
        if path.endswith(".joblib"):
            import joblib
            self.estimator = joblib.load(path)
        else:
            import pickle
            with open(path, "rb") as f:
                self.estimator = pickle.load(f)
        if not hasattr(self.estimator, "predict"):
            raise ModelError(f"{os.path.basename(path)} holds a {type(self.estimator).__name__}, which has no predict()", "INVALID_ARGUMENT")
        config_inputs = init.get("config_inputs") or []
        self.input_name = config_inputs[0]["name"] if config_inputs else "input"
        self.input_type = (config_inputs[0].get("datatype") if config_inputs else None) or "FP32"
        self.has_proba = hasattr(self.estimator, "predict_proba")

    def signature(self):
        est = self.estimator
        features = int(getattr(est, "n_features_in_", -1))
        input_shape = [-1] if self.input_type == "BYTES" else [-1, features]
        classes = getattr(est, "classes_", None)
        if classes is not None:
            kind = np.asarray(classes).dtype.kind
            predict_type = {"i": "INT64", "u": "INT64", "b": "BOOL", "f": "FP64"}.get(kind, "BYTES")
        else:
            predict_type = "FP64"
        outputs_count = int(getattr(est, "n_outputs_", 1) or 1)
        outputs = [{"name": "predict", "datatype": predict_type, "shape": [-1, outputs_count]}]
        if self.has_proba:
            n_classes = len(classes) if classes is not None else -1
            outputs.append({"name": "predict_proba", "datatype": "FP32", "shape": [-1, n_classes]})
        return {"inputs": [{"name": self.input_name, "datatype": self.input_type, "shape": input_shape}], "outputs": outputs}

    def execute(self, requests, output_names):
        inputs = dict(requests[0])
        if self.input_name not in inputs:
            raise ModelError(f"missing input '{self.input_name}'", "INVALID_ARGUMENT")
        x = inputs[self.input_name]
        if x.dtype == np.object_:
            x = [item.decode("utf-8") for item in x.reshape(-1).tolist()]
        wanted = output_names or ["predict"] + (["predict_proba"] if self.has_proba else [])
        outputs = []
        for name in wanted:
            if name == "predict":
                y = np.asarray(self.estimator.predict(x))
                outputs.append((name, y.reshape(y.shape[0], -1)))
            elif name == "predict_proba" and self.has_proba:
                outputs.append((name, np.asarray(self.estimator.predict_proba(x), dtype=np.float32)))
            else:
                raise ModelError(f"unknown output '{name}'", "INVALID_ARGUMENT")
        return [{"outputs": outputs}]

    def finalize(self):
        pass


class TorchScriptModel:
    """A TorchScript module (``platform: "pytorch_libtorch"``): inputs in config order (Triton's
    ``INPUT__<i>`` naming puts them in index order), outputs ``OUTPUT__<i>`` in return order."""

    joins_batch = True

    def __init__(self, init):
        try:
            import torch
        except ImportError as error:
            raise missing_package(error, "PyTorch", "python3-torch")
        self.torch = torch
        torch.set_num_threads(max(1, int(init["threads"])))
        self.module = torch.jit.load(init["model_path"], map_location="cpu")
        self.module.eval()
        inputs = init.get("config_inputs") or []
        outputs = init.get("config_outputs") or []
        if not inputs or not outputs:
            raise ModelError("a pytorch_libtorch model needs its inputs and outputs in config.pbtxt (TorchScript files carry no signature)", "INVALID_ARGUMENT")
        self.input_names = sorted((t["name"] for t in inputs), key=_index_order)
        self.output_names = [t["name"] for t in outputs]

    def signature(self):
        return None

    def execute(self, requests, output_names):
        torch = self.torch
        inputs = dict(requests[0])
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise ModelError(f"missing input '{missing[0]}'", "INVALID_ARGUMENT")
        with torch.inference_mode():
            args = [torch.from_numpy(inputs[n]) if inputs[n].dtype != np.object_ else inputs[n].tolist() for n in self.input_names]
            result = self.module(*args)
        if isinstance(result, torch.Tensor):
            result = [result]
        elif isinstance(result, dict):
            result = [result[n] for n in self.output_names]
        result = list(result)
        named = {}
        for i, value in enumerate(result):
            name = self.output_names[i] if i < len(self.output_names) else f"OUTPUT__{i}"
            named[name] = value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
        wanted = output_names or self.output_names
        missing = [n for n in wanted if n not in named]
        if missing:
            raise ModelError(f"the module returned {len(result)} outputs, so there is no '{missing[0]}'")
        return [{"outputs": [(n, named[n]) for n in wanted]}]

    def finalize(self):
        pass


def _index_order(name):
    tail = name.rsplit("__", 1)[-1]
    return (0, int(tail), name) if tail.isdigit() else (1, 0, name)


RUNTIMES = {"python": PythonModel, "sklearn": SklearnModel, "torchscript": TorchScriptModel}


def main():
    writer = None
    model = None
    try:
        header, _ = read_frame(IN_FD)
        writer = FrameWriter(OUT_FD, header.get("file_dir"), int(header.get("file_threshold", 1 << 20)))
        declared = {t["name"]: t.get("datatype") for t in header.get("config_outputs") or []}
        try:
            model = RUNTIMES[header["kind"]](header)
            writer.send({"ok": True, "signature": model.signature()})
        except BaseException as error:  # noqa: BLE001  (SyntaxError, SystemExit from a model file too)
            traceback.print_exc()
            writer.send({"ok": False, "error": describe(error)})
            return
        while True:
            try:
                request, body = read_frame(IN_FD)
            except EOFError:
                return
            op = request.get("op")
            if op == "finalize":
                try:
                    model.finalize()
                    writer.send({"ok": True})
                except Exception as error:  # noqa: BLE001
                    traceback.print_exc()
                    writer.send({"ok": False, "error": describe(error)})
                return
            try:
                requests = [[(d["name"], decode_tensor(d, body)) for d in r["inputs"]] for r in request["requests"]]
                results = model.execute(requests, request.get("outputs") or [])
                out = BodyWriter()
                answers = []
                for result in results:
                    if "error" in result:
                        answers.append({"error": result["error"]})
                        continue
                    descriptors = []
                    for name, array in result["outputs"]:
                        array, datatype = to_declared(array, declared.get(name))
                        descriptors.append(out.add(name, datatype, array))
                    answers.append({"outputs": descriptors})
                writer.send({"ok": True, "responses": answers}, out)
            except Exception as error:  # noqa: BLE001
                traceback.print_exc()
                writer.send({"ok": False, "error": describe(error)})
    except EOFError:
        return


if __name__ == "__main__":
    main()
