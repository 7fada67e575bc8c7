#!/usr/bin/python3
"""Train the bundled `diabetes` example model (FP64 regression) and export it to the repository.

A small MLP learns scikit-learn's diabetes data set (442 patients, 10 features, target = disease
progression one year later; ships inside sklearn: no download). The model is FP64 end to end on
purpose, so the repository holds a model of another datatype than FP32. Everything is seeded.

Writes (paths relative to the repository root):
  models/diabetes/1/model.onnx             input `features` FP64 [batch,10] (sklearn's scaled features),
                                           output `progression` FP64 [batch,1] (in the target's units)
  examples/diabetes/request.json           an OIP REST request body holding two held-out patients
  examples/diabetes/request.expected.json  their true targets and torch's predictions

Run with Debian's Python:  /usr/bin/python3 examples/diabetes/train.py
"""
import json
import os
import random

import numpy as np
import onnx
import torch
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split
from torch import nn

SEED = 20240502
EPOCHS = 30
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
MODEL_PATH = os.path.join(ROOT, 'models', 'diabetes', '1', 'model.onnx')
EXAMPLE_DIR = os.path.join(ROOT, 'examples', 'diabetes')
REQUEST_ROWS = 2


class DiabetesMlp(nn.Module):
    """Standardises features and un-standardises the prediction itself: clients send dataset rows."""

    def __init__(self, x_mean, x_std, y_mean, y_std):
        super().__init__()
        self.register_buffer('x_mean', torch.as_tensor(x_mean))
        self.register_buffer('x_std', torch.as_tensor(x_std))
        self.register_buffer('y_mean', torch.as_tensor(y_mean))
        self.register_buffer('y_std', torch.as_tensor(y_std))
        self.net = nn.Sequential(
            nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))

    def normalized(self, features):
        return self.net((features - self.x_mean) / self.x_std)

    def forward(self, features):
        return self.normalized(features) * self.y_std + self.y_mean


def main():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)

    data = load_diabetes()
    x = data.data.astype(np.float64)
    y = data.target.astype(np.float64).reshape(-1, 1)
    indices = np.arange(len(y))
    train_idx, test_idx = train_test_split(indices, test_size=0.2, random_state=SEED)
    x_train, y_train = torch.from_numpy(x[train_idx]), torch.from_numpy(y[train_idx])
    x_test = torch.from_numpy(x[test_idx])

    model = DiabetesMlp(
        x_train.mean(0), x_train.std(0), y_train.mean(0), y_train.std(0)).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-3)
    loss_fn = nn.MSELoss()
    y_train_norm = (y_train - model.y_mean) / model.y_std
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            loss = loss_fn(model.normalized(x_train[batch]), y_train_norm[batch])
            loss.backward()
            optimizer.step()

    model.eval()
    with torch.no_grad():
        predictions = model(x_test).numpy()
    y_test = y[test_idx]
    print(f'held-out R^2: {r2_score(y_test, predictions):.4f}')
    print(f'held-out MAE: {mean_absolute_error(y_test, predictions):.2f}')

    os.makedirs(os.path.dirname(MODEL_PATH), exist_ok=True)
    torch.onnx.export(
        model, x_test[:1], MODEL_PATH, opset_version=17,
        input_names=['features'], output_names=['progression'],
        dynamic_axes={'features': {0: 'batch'}, 'progression': {0: 'batch'}},
    )
    onnx.checker.check_model(onnx.load(MODEL_PATH), full_check=True)
    print(f'exported {os.path.relpath(MODEL_PATH, ROOT)} ({os.path.getsize(MODEL_PATH)} bytes)')

    rows = [int(i) for i in test_idx[:REQUEST_ROWS]]
    request = {'inputs': [{
        'name': 'features', 'shape': [REQUEST_ROWS, 10], 'datatype': 'FP64',
        'data': [float(v) for v in x[rows].reshape(-1)],
    }]}
    expected = {
        'targets': [float(y[i, 0]) for i in rows],
        'indices_in_dataset': rows,
        'torch_progression': [float(p) for p in predictions[:REQUEST_ROWS, 0]],
    }
    with open(os.path.join(EXAMPLE_DIR, 'request.json'), 'w') as f:
        json.dump(request, f)
        f.write('\n')
    with open(os.path.join(EXAMPLE_DIR, 'request.expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
