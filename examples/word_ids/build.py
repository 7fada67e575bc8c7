#!/usr/bin/python3
"""Build the bundled `word_ids` example model: strings in, int64 ids out (no training).

One `ai.onnx.ml` LabelEncoder maps a fixed vocabulary to ids and every other word to -1. It gives
the repository a model with BYTES (ONNX string) input and INT64 output, and no batch dimension
(max_batch_size 0): input `words` string [-1], output `ids` int64 [-1].

Run with Debian's Python:  /usr/bin/python3 examples/word_ids/build.py
"""
import json
import os

import onnx
from onnx import TensorProto, helper

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
MODEL_PATH = os.path.join(ROOT, 'models', 'word_ids', '1', 'model.onnx')
EXAMPLE_DIR = os.path.join(ROOT, 'examples', 'word_ids')

VOCABULARY = {'cranberry': 0, 'apple': 1, 'banana': 2, 'cherry': 3, 'grape': 4, 'lemon': 5}
UNKNOWN_ID = -1


def main():
    words = list(VOCABULARY)
    node = helper.make_node(
        'LabelEncoder', inputs=['words'], outputs=['ids'], domain='ai.onnx.ml',
        keys_strings=words, values_int64s=[VOCABULARY[w] for w in words], default_int64=UNKNOWN_ID,
    )
    graph = helper.make_graph(
        [node], 'word_ids',
        inputs=[helper.make_tensor_value_info('words', TensorProto.STRING, ['count'])],
        outputs=[helper.make_tensor_value_info('ids', TensorProto.INT64, ['count'])],
    )
    # LabelEncoder-2 (string keys, int64 values) lives in ai.onnx.ml opset 2.
    model = helper.make_model(
        graph, producer_name='cranberries-examples', ir_version=8,
        opset_imports=[helper.make_opsetid('', 17), helper.make_opsetid('ai.onnx.ml', 2)],
    )
    onnx.checker.check_model(model, full_check=True)
    os.makedirs(os.path.dirname(MODEL_PATH), exist_ok=True)
    onnx.save(model, MODEL_PATH)
    print(f'wrote {os.path.relpath(MODEL_PATH, ROOT)} ({os.path.getsize(MODEL_PATH)} bytes)')

    sample = ['apple', 'kiwi', 'cranberry', 'lemon']
    request = {'inputs': [{'name': 'words', 'shape': [len(sample)], 'datatype': 'BYTES', 'data': sample}]}
    expected = {'ids': [VOCABULARY.get(w, UNKNOWN_ID) for w in sample], 'vocabulary': VOCABULARY}
    with open(os.path.join(EXAMPLE_DIR, 'request.json'), 'w') as f:
        json.dump(request, f)
        f.write('\n')
    with open(os.path.join(EXAMPLE_DIR, 'request.expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
