import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { restSequenceKey } from './rest-sequence-key.js';

describe('REST sequence keys', () => {
  it('reads sequence_id from a REST JSON header only, never from a compressed body', () => {
    const json = Buffer.from(JSON.stringify({ inputs: [], parameters: { sequence_id: 1000, sequence_start: true } }));
    assert.equal(restSequenceKey(json, undefined, undefined), 'u:1000');
    const withBinary = Buffer.concat([json, Buffer.from('"sequence_id"…binary')]);
    assert.equal(restSequenceKey(withBinary, String(json.length), 'identity'), 'u:1000');
    assert.equal(restSequenceKey(Buffer.from('{"parameters":{"sequence_id":"1000"}}'), undefined, undefined), 's:1000', 'a string id is another sequence');
    assert.equal(restSequenceKey(json, undefined, 'gzip'), undefined);
    assert.equal(restSequenceKey(Buffer.from('{"sequence_id": 5'), undefined, undefined), undefined, 'malformed: the worker answers');
    assert.equal(restSequenceKey(Buffer.from('{"inputs": []}'), undefined, undefined), undefined);
  });
});
