#!/usr/bin/python3
"""Train the bundled `iris` example: a scikit-learn pipeline served from model.joblib, no code.

StandardScaler + LogisticRegression on scikit-learn's iris data (150 flowers, 4 measurements in cm,
shipped inside sklearn: no download). Deterministic: a rerun writes the same model.

Writes (paths relative to the repository root):
  models/iris/1/model.joblib       the fitted pipeline (classes_ 0, 1, 2)
  models/iris/labels.txt           class names, line i = class i (the classification extension)
  examples/iris/request.json       an OIP REST request body with two held-out flowers
  examples/iris/request.expected.json   their true classes and the pipeline's own answers

The server exposes `predict` (INT64 [batch,1]) and `predict_proba` (FP32 [batch,3]) from the
estimator; see models/iris/config.pbtxt. Loading a pickle runs code: only serve files you trust.

Run with Debian's Python: /usr/bin/python3 examples/iris/train.py
"""
import json
import os

import joblib
import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

data = load_iris()
x_train, x_test, y_train, y_test = train_test_split(data.data.astype(np.float32), data.target, test_size=0.2, random_state=7, stratify=data.target)
pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=7))
pipeline.fit(x_train, y_train)
accuracy = pipeline.score(x_test, y_test)

os.makedirs(os.path.join(ROOT, "models/iris/1"), exist_ok=True)
joblib.dump(pipeline, os.path.join(ROOT, "models/iris/1/model.joblib"))
with open(os.path.join(ROOT, "models/iris/labels.txt"), "w") as f:
    f.write("\n".join(data.target_names) + "\n")

sample = x_test[:2]
with open(os.path.join(ROOT, "examples/iris/request.json"), "w") as f:
    json.dump({"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32", "data": [round(float(v), 1) for v in sample.reshape(-1)]}]}, f)
    f.write("\n")
with open(os.path.join(ROOT, "examples/iris/request.expected.json"), "w") as f:
    json.dump({
        "true_classes": [int(c) for c in y_test[:2]],
        "predict": [int(c) for c in pipeline.predict(sample)],
        "predict_proba": [[round(float(p), 5) for p in row] for row in pipeline.predict_proba(sample)],
        "test_accuracy": round(float(accuracy), 4),
    }, f, indent=2)
    f.write("\n")
print(f"iris: test accuracy {accuracy:.3f}")
