import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkStringElements, elementProblem } from './string-elements.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('BYTES elements for ONNX Runtime string tensors', () => {
  it('accepts UTF-8 text, including the empty string and astral characters', () => {
    for (const s of ['', 'plain', 'héllo', '日本語', '\u{1F600}']) assert.equal(elementProblem(utf8(s)), undefined, s);
  });

  it('names a NUL byte with its position, and bytes that are not UTF-8', () => {
    assert.equal(elementProblem(utf8('he\u0000llo')), 'holds a NUL byte (at byte 2)');
    assert.equal(elementProblem(Uint8Array.of(0xc3)), 'is not valid UTF-8', 'a truncated sequence');
    assert.equal(elementProblem(Uint8Array.of(0xed, 0xa0, 0x80)), 'is not valid UTF-8', 'an encoded surrogate');
  });

  it('refuses the first bad element by input name and flat index; numeric tensors pass', () => {
    const tensor = { name: 'text', datatype: 'BYTES' as const, shape: [2, 2], data: [utf8('a'), utf8('b'), utf8('c'), Uint8Array.of(0xff)] };
    assert.throws(() => checkStringElements(tensor), { code: 'INVALID_ARGUMENT', message: /^input 'text' element 3 is not valid UTF-8/ });
    assert.doesNotThrow(() => checkStringElements({ name: 'x', datatype: 'FP32', shape: [1], data: Float32Array.of(0) }));
  });
});
