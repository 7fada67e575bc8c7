#!/usr/bin/python3
"""Train the bundled `digits` example model and export it to the model repository.

A small CNN learns scikit-learn's handwritten digits (1797 8x8 images, pixels 0..16, shipped inside
sklearn: no download). Everything is seeded, so a rerun reproduces the same weights and accuracy.

Writes (paths relative to the repository root):
  models/digits/1/model.onnx          input `image` FP32 [batch,1,8,8] raw pixels 0..16;
                                      outputs `probabilities` FP32 [batch,10], `label` INT64 [batch,1]
  examples/digits/request.json        an OIP REST request body holding one held-out digit
  examples/digits/request.expected.json   its true class, dataset index and torch's probabilities

Run with Debian's Python (it alone sees python3-torch/sklearn/onnx):
  /usr/bin/python3 examples/digits/train.py
"""
import json
import os
import random

import numpy as np
import onnx
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

SEED = 20240501
EPOCHS = 30
BATCH_SIZE = 32
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
MODEL_PATH = os.path.join(ROOT, 'models', 'digits', '1', 'model.onnx')
EXAMPLE_DIR = os.path.join(ROOT, 'examples', 'digits')


class DigitsCnn(nn.Module):
    """Takes raw dataset pixels (0..16) so clients can send them as they are."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10),
        )

    def logits(self, image):
        return self.classifier(self.features(image / 16.0))

    def forward(self, image):
        probabilities = torch.softmax(self.logits(image), dim=1)
        label = torch.argmax(probabilities, dim=1, keepdim=True)  # int64 [batch, 1]
        return probabilities, label


def seed_everything():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(2)


def main():
    seed_everything()
    digits = load_digits()
    images = digits.images.astype(np.float32).reshape(-1, 1, 8, 8)
    targets = digits.target.astype(np.int64)
    indices = np.arange(len(targets))
    train_idx, test_idx = train_test_split(
        indices, test_size=0.2, stratify=targets, random_state=SEED)

    x_train, y_train = torch.from_numpy(images[train_idx]), torch.from_numpy(targets[train_idx])
    x_test, y_test = torch.from_numpy(images[test_idx]), torch.from_numpy(targets[test_idx])

    model = DigitsCnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(SEED)
    for epoch in range(EPOCHS):
        model.train()
        order = torch.randperm(len(x_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(model.logits(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        if epoch % 10 == 9:
            print(f'epoch {epoch + 1}: train loss {total / len(order):.4f}')

    model.eval()
    with torch.no_grad():
        probabilities, labels = model(x_test)
    predicted = labels.squeeze(1)
    accuracy = (predicted == y_test).float().mean().item()
    print(f'held-out accuracy: {accuracy:.4f} ({int((predicted == y_test).sum())}/{len(y_test)})')

    os.makedirs(os.path.dirname(MODEL_PATH), exist_ok=True)
    torch.onnx.export(
        model, x_test[:1], MODEL_PATH, opset_version=17,
        input_names=['image'], output_names=['probabilities', 'label'],
        dynamic_axes={'image': {0: 'batch'}, 'probabilities': {0: 'batch'}, 'label': {0: 'batch'}},
    )
    exported = onnx.load(MODEL_PATH)
    onnx.checker.check_model(exported, full_check=True)
    print(f'exported {os.path.relpath(MODEL_PATH, ROOT)} ({os.path.getsize(MODEL_PATH)} bytes)')

    # The example request: the first held-out digit the model gets right. onnxruntime is not
    # available to Debian's Python, so torch's probabilities are saved for the Node test to compare.
    position = next(i for i in range(len(test_idx)) if predicted[i] == y_test[i])
    index = int(test_idx[position])
    pixels = [float(v) for v in digits.images[index].reshape(-1)]
    request = {'inputs': [{'name': 'image', 'shape': [1, 1, 8, 8], 'datatype': 'FP32', 'data': pixels}]}
    expected = {
        'label': int(targets[index]),
        'index_in_dataset': index,
        'torch_probabilities': [round(float(p), 6) for p in probabilities[position]],
    }
    with open(os.path.join(EXAMPLE_DIR, 'request.json'), 'w') as f:
        json.dump(request, f)
        f.write('\n')
    with open(os.path.join(EXAMPLE_DIR, 'request.expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')
    print(f'example request: dataset index {index}, true label {expected["label"]}')


if __name__ == '__main__':
    main()
