import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError, type ErrorCode } from '../../core/errors.js';
import type { TensorSignature } from '../../backends/backend.js';
import type { Tensor } from '../../tensors/tensor.js';
import { parseTfsJson } from './json-text.js';
import { decodeJsonRows, decodeJsonTensor } from './json-tensor-decode.js';
import { formatFloat32, formatFloat64, tensorJson } from './json-tensor-encode.js';
import { decodePredictInputs, encodePredictResponse, readPredictRequest } from './predict-json.js';

function fails(code: ErrorCode, pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof CranberriesError && error.code === code && pattern.test(error.message);
}

const strings = (tensor: Tensor): string[] => (tensor.data as Uint8Array[]).map((e) => Buffer.from(e).toString('latin1'));

describe('parseTfsJson', () => {
  test('standard JSON and the NaN / Infinity / -Infinity tokens outside strings', () => {
    assert.deepEqual(parseTfsJson('{"a": [1, 2.5, "NaN"]}'), { a: [1, 2.5, 'NaN'] });
    const parsed = parseTfsJson('{"instances": [NaN, Infinity, -Infinity, 1e3, -0.5], "s": "Infinity \\" x", "n": null, "t": [true, false], "o": {}}') as Record<string, unknown>;
    const values = parsed['instances'] as number[];
    assert.ok(Number.isNaN(values[0]));
    assert.deepEqual(values.slice(1), [Infinity, -Infinity, 1000, -0.5]);
    assert.deepEqual({ ...parsed, instances: undefined }, { instances: undefined, s: 'Infinity " x', n: null, t: [true, false], o: {} });
    const proto = parseTfsJson('{"__proto__": [NaN]}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(proto), Object.prototype, 'a __proto__ key stays a plain property');
    assert.ok(Object.hasOwn(proto, '__proto__'));
  });

  test('malformed bodies are INVALID_ARGUMENT', () => {
    assert.throws(() => parseTfsJson('{"a": [1,]}'), fails('INVALID_ARGUMENT', /malformed JSON/));
    assert.throws(() => parseTfsJson('{"a": [NaN,]}'), fails('INVALID_ARGUMENT', /malformed JSON in the request body at position/));
    assert.throws(() => parseTfsJson('[NaN] x'), fails('INVALID_ARGUMENT', /after the JSON value/));
    assert.throws(() => parseTfsJson(''), fails('INVALID_ARGUMENT', /empty/));
  });
});

describe('JSON tensor values', () => {
  test('the nesting gives the shape; rows stack to [rows, ...row]', () => {
    const columns = decodeJsonTensor({ name: 'x', datatype: 'FP32' }, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(columns.shape, [2, 3]);
    assert.deepEqual(columns.data, new Float32Array([1, 2, 3, 4, 5, 6]));
    const rows = decodeJsonRows({ name: 'x', datatype: 'FP32' }, [1.0, 2.0, 5.0]);
    assert.deepEqual(rows.shape, [3]);
    const matrixRows = decodeJsonRows({ name: 'x', datatype: 'INT64' }, [
      [[1], [2]],
      [[3], [-4]],
    ]);
    assert.deepEqual(matrixRows.shape, [2, 2, 1]);
    assert.deepEqual(matrixRows.data, new BigInt64Array([1n, 2n, 3n, -4n]));
    assert.deepEqual(decodeJsonTensor({ name: 'x', datatype: 'FP64' }, 2.5).shape, []);
    assert.deepEqual(decodeJsonTensor({ name: 'x', datatype: 'FP32' }, [[], []]).shape, [2, 0]);
  });

  test('b64 objects and UTF-8 strings for DT_STRING', () => {
    const tensor = decodeJsonRows({ name: 'w', datatype: 'BYTES' }, ['héllo', { b64: Buffer.from([0, 1, 255]).toString('base64') }, '']);
    assert.deepEqual(tensor.shape, [3]);
    assert.deepEqual(
      (tensor.data as Uint8Array[]).map((e) => [...e]),
      [[...Buffer.from('héllo')], [0, 1, 255], []],
    );
  });

  test('type, range and shape errors name the input and element', () => {
    assert.throws(() => decodeJsonTensor({ name: 'x', datatype: 'FP32' }, [1, 'a']), fails('INVALID_ARGUMENT', /input 'x': element 1 is "a", expected a number for DT_FLOAT/));
    assert.throws(() => decodeJsonTensor({ name: 'x', datatype: 'INT32' }, [1.5]), fails('INVALID_ARGUMENT', /expected an integer for DT_INT32/));
    assert.throws(() => decodeJsonTensor({ name: 'x', datatype: 'UINT8' }, [256]), fails('INVALID_ARGUMENT', /0\.\.255 for DT_UINT8/));
    assert.throws(() => decodeJsonTensor({ name: 'x', datatype: 'INT64' }, [2 ** 60]), fails('INVALID_ARGUMENT', /for DT_INT64/));
    assert.throws(() => decodeJsonTensor({ name: 'x', datatype: 'BOOL' }, [1]), fails('INVALID_ARGUMENT', /true or false for DT_BOOL/));
    assert.throws(() => decodeJsonTensor({ name: 'x', datatype: 'FP32' }, [{ b64: 'AAAA' }]), fails('INVALID_ARGUMENT', /only accepted for DT_STRING/));
    assert.throws(() => decodeJsonTensor({ name: 'w', datatype: 'BYTES' }, [{ b64: 'not base64!' }]), fails('INVALID_ARGUMENT', /base64/));
    assert.throws(() => decodeJsonTensor({ name: 'x', datatype: 'FP32' }, [[1, 2], [3]]), fails('INVALID_ARGUMENT', /not a rectangular list of shape \[2,2\]/));
    assert.throws(
      () =>
        decodeJsonRows({ name: 'x', datatype: 'FP32' }, [
          [1, 2],
          [3, 4, 5],
        ]),
      fails('INVALID_ARGUMENT', /instance 1.*shape of the first/),
    );
    assert.throws(() => decodeJsonTensor({ name: 'h', datatype: 'FP16' }, [1]), fails('UNIMPLEMENTED', /DT_HALF/));
  });
});

describe('JSON output values', () => {
  test('floats: shortest float32 decimal, .0 on integral values, non-finite tokens', () => {
    assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
    assert.equal(formatFloat32(3), '3.0');
    assert.equal(formatFloat32(Math.fround(123456.789)), '123456.79');
    assert.equal(formatFloat32(Math.fround(1e-8)), '1e-8');
    assert.equal(formatFloat32(Math.fround(3.4e38)), '3.4e+38');
    assert.equal(formatFloat32(NaN), 'NaN');
    assert.equal(formatFloat32(-Infinity), '-Infinity');
    assert.equal(formatFloat64(0.1), '0.1');
    assert.equal(formatFloat64(-2), '-2.0');
    assert.equal(formatFloat64(Infinity), 'Infinity');
    for (let i = 0; i < 2000; i++) {
      const value = Math.fround((Math.sin(i) * 10 ** ((i % 20) - 10)) / 3);
      const text = formatFloat32(value);
      assert.equal(Math.fround(Number(text)), value, `${text} reads back as ${value}`);
      const significant = text
        .replace(/^-|e.*$|\./g, '')
        .replace(/^0+/, '')
        .replace(/0+$/, '');
      assert.ok(significant.length <= 9, `${text} has at most 9 significant digits`);
    }
  });

  test('nested lists follow the shape; _bytes outputs are b64, other strings raw', () => {
    assert.equal(tensorJson({ name: 'y', datatype: 'FP32', shape: [2, 2], data: new Float32Array([1, 2.5, NaN, -0.5]) }), '[[1.0,2.5],[NaN,-0.5]]');
    assert.equal(tensorJson({ name: 'i', datatype: 'INT64', shape: [2], data: new BigInt64Array([2n ** 62n, -1n]) }), '[4611686018427387904,-1]');
    assert.equal(tensorJson({ name: 'b', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) }), '[true,false]');
    const bytes = [new Uint8Array(Buffer.from('a"b')), new Uint8Array([255])];
    assert.equal(tensorJson({ name: 'text', datatype: 'BYTES', shape: [2], data: bytes }), '["a\\"b","\uFFFD"]');
    assert.equal(tensorJson({ name: 'image_bytes', datatype: 'BYTES', shape: [2], data: bytes }), '[{"b64":"YSJi"},{"b64":"/w=="}]');
    assert.equal(tensorJson({ name: 's', datatype: 'FP64', shape: [], data: new Float64Array([4]) }), '4.0');
    assert.throws(() => tensorJson({ name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array(1) }), fails('UNIMPLEMENTED', /DT_HALF/));
  });
});

describe('predict JSON', () => {
  const one: TensorSignature[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }];
  const two: TensorSignature[] = [
    { name: 'a', datatype: 'FP32', shape: [-1, 2] },
    { name: 'w', datatype: 'BYTES', shape: [-1] },
  ];

  test('row format: values for one input, objects for several', () => {
    const [x] = decodePredictInputs(
      readPredictRequest({
        instances: [
          [1, 2],
          [3, 4],
        ],
      }),
      one,
    );
    assert.deepEqual(x!.shape, [2, 2]);
    const [named] = decodePredictInputs(readPredictRequest({ instances: [{ x: [1, 2] }] }), one);
    assert.deepEqual(named!.data, new Float32Array([1, 2]));
    const [a, w] = decodePredictInputs(
      readPredictRequest({
        signature_name: 'serving_default',
        instances: [
          { a: [1, 2], w: 'p' },
          { a: [3, 4], w: { b64: 'cQ==' } },
        ],
      }),
      two,
    );
    assert.deepEqual(a!.shape, [2, 2]);
    assert.deepEqual(strings(w!), ['p', 'q']);
  });

  test('columnar format: the value for one input, an object for several', () => {
    const [x] = decodePredictInputs(readPredictRequest({ inputs: [[1, 2]] }), one);
    assert.deepEqual(x!.shape, [1, 2]);
    const [a, w] = decodePredictInputs(
      readPredictRequest({
        inputs: {
          a: [
            [1, 2],
            [3, 4],
            [5, 6],
          ],
          w: ['z'],
        },
      }),
      two,
    );
    assert.deepEqual([a!.shape, w!.shape], [[3, 2], [1]]);
  });

  test('request errors', () => {
    assert.throws(() => readPredictRequest({ instances: [1], inputs: [1] }), fails('INVALID_ARGUMENT', /both 'instances' and 'inputs'/));
    assert.throws(() => readPredictRequest({ signature_name: 'x' }), fails('INVALID_ARGUMENT', /^Missing 'inputs' or 'instances' key$/));
    assert.throws(() => readPredictRequest([1]), fails('INVALID_ARGUMENT', /JSON object/));
    assert.throws(() => decodePredictInputs(readPredictRequest({ instances: [] }), one), fails('INVALID_ARGUMENT', /non-empty list/));
    assert.throws(() => decodePredictInputs(readPredictRequest({ inputs: { a: [[1, 2]] } }), two), fails('INVALID_ARGUMENT', /^Missing named input: w in 'inputs' object\.$/));
    assert.throws(() => decodePredictInputs(readPredictRequest({ inputs: { a: [[1, 2]], w: ['z'], q: 1 } }), two), fails('INVALID_ARGUMENT', /'q', which is not an input/));
    assert.throws(() => decodePredictInputs(readPredictRequest({ instances: [{ a: [1, 2] }] }), two), fails('INVALID_ARGUMENT', /instances\[0\]: missing input 'w'/));
    assert.throws(() => decodePredictInputs(readPredictRequest({ instances: [[1, 2]] }), two), fails('INVALID_ARGUMENT', /instances\[0\].*object keyed by the input names/));
  });

  const y: Tensor = { name: 'y', datatype: 'FP32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4.5]) };
  const label: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: new BigInt64Array([7n, 8n]) };

  test('responses: predictions per row, outputs per tensor', () => {
    assert.equal(encodePredictResponse('row', [y]), '{"predictions":[[1.0,2.0],[3.0,4.5]]}');
    assert.equal(encodePredictResponse('row', [y, label]), '{"predictions":[{"y":[1.0,2.0],"label":7},{"y":[3.0,4.5],"label":8}]}');
    assert.equal(encodePredictResponse('columnar', [y]), '{"outputs":[[1.0,2.0],[3.0,4.5]]}');
    assert.equal(encodePredictResponse('columnar', [y, label]), '{"outputs":{"y":[[1.0,2.0],[3.0,4.5]],"label":[7,8]}}');
    const odd: Tensor = { name: 'z', datatype: 'FP32', shape: [3], data: new Float32Array(3) };
    assert.throws(() => encodePredictResponse('row', [y, odd]), fails('INVALID_ARGUMENT', /z has inconsistent batch size: 3 expecting: 2/));
    const parsed = JSON.parse(encodePredictResponse('columnar', [y, odd])) as { outputs: Record<string, number[]> };
    assert.equal(parsed.outputs['z']?.length, 3);
  });
});
