#!/usr/bin/python3
"""Train the bundled `digits_torchscript` example: a tiny PyTorch MLP served from model.pt.

A 64-32-10 perceptron learns scikit-learn's handwritten digits (8x8 images, pixels 0..16, shipped
inside sklearn), then is traced to TorchScript. Seeded and single-threaded: a rerun reproduces it.

Writes (paths relative to the repository root):
  models/digits_torchscript/1/model.pt     INPUT__0 FP32 [batch,64] raw pixels -> OUTPUT__0 FP32 [batch,10] probabilities
  examples/digits_torchscript/request.json one held-out digit as an OIP REST request body
  examples/digits_torchscript/request.expected.json   its true class and torch's probabilities

Run with Debian's Python: /usr/bin/python3 examples/digits_torchscript/train.py
"""
import json
import os

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
torch.manual_seed(20240501)
torch.set_num_threads(1)

data = load_digits()
x = data.data.astype(np.float32)
x_train, x_test, y_train, y_test = train_test_split(x, data.target, test_size=0.2, random_state=7, stratify=data.target)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))

    def forward(self, pixels):
        return torch.softmax(self.layers(pixels / 16.0), dim=1)


model = Mlp()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
inputs, targets = torch.from_numpy(x_train), torch.from_numpy(y_train)
for epoch in range(60):
    for start in range(0, len(inputs), 64):
        optimizer.zero_grad()
        probabilities = model(inputs[start:start + 64])
        loss = nn.functional.nll_loss(torch.log(probabilities + 1e-9), targets[start:start + 64])
        loss.backward()
        optimizer.step()
model.eval()
with torch.no_grad():
    accuracy = float((model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean())
    traced = torch.jit.trace(model, torch.from_numpy(x_test[:1]))

os.makedirs(os.path.join(ROOT, "models/digits_torchscript/1"), exist_ok=True)
traced.save(os.path.join(ROOT, "models/digits_torchscript/1/model.pt"))
with torch.no_grad():
    test_probabilities = traced(torch.from_numpy(x_test)).numpy()
# The first held-out digit the model gets right with confidence, so the example shows a clear answer.
index = next(i for i, p in enumerate(test_probabilities) if p.argmax() == y_test[i] and p.max() > 0.95)
sample = x_test[index:index + 1]
expected = test_probabilities[index]
with open(os.path.join(ROOT, "examples/digits_torchscript/request.json"), "w") as f:
    json.dump({"inputs": [{"name": "INPUT__0", "shape": [1, 64], "datatype": "FP32", "data": [float(v) for v in sample.reshape(-1)]}]}, f)
    f.write("\n")
with open(os.path.join(ROOT, "examples/digits_torchscript/request.expected.json"), "w") as f:
    json.dump({"label": int(y_test[index]), "probabilities": [round(float(p), 5) for p in expected], "test_accuracy": round(accuracy, 4)}, f, indent=2)
    f.write("\n")
print(f"digits_torchscript: test accuracy {accuracy:.3f}")
