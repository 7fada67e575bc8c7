import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { peekJsonId } from './json-request-id.js';

const peek = (text: string, jsonLength?: number): string | undefined => peekJsonId(Buffer.from(text, 'utf8'), jsonLength);

describe('peekJsonId', () => {
  it('finds a top-level id wherever it is among the keys', () => {
    assert.equal(peek('{"id":"abc","inputs":[]}'), 'abc');
    assert.equal(peek(' {\n "parameters": {"id": "nested", "x": [1, {"y": "}"}]},\t"id" : "top" }'), 'top');
    assert.equal(peek('{"inputs":[{"name":"x","data":[1.5,-2e3,true,null,"a\\"]b"]}],"id":"after"}'), 'after');
  });

  it('ignores ids that are not top-level strings, and keys that merely contain "id"', () => {
    assert.equal(peek('{"inputs":[{"id":"inner"}],"outputs":[]}'), undefined);
    assert.equal(peek('{"idx":"no","xid":"no"}'), undefined);
    assert.equal(peek('{"id":42}'), undefined);
    assert.equal(peek('{}'), undefined);
  });

  it('decodes escapes in the id', () => {
    assert.equal(peek('{"id":"a\\u0062c"}'), 'abc');
  });

  it('refuses ids a header could not carry (spaces, too long)', () => {
    assert.equal(peek('{"id":"has space"}'), undefined);
    assert.equal(peek(`{"id":"${'x'.repeat(200)}"}`), undefined);
  });

  it('gives up on non-JSON, truncated JSON and ids past the scan limit', () => {
    assert.equal(peek('not json'), undefined);
    assert.equal(peek('{"inputs":[1,2'), undefined);
    assert.equal(peek('{"id":"abc"'), 'abc');
    assert.equal(peek('{"id":"ab'), undefined);
    assert.equal(peek(`{"inputs":[${'1,'.repeat(5000)}1],"id":"far"}`), undefined);
  });

  it('only scans the JSON part of a binary-extension body', () => {
    const json = '{"inputs":[]}';
    const body = Buffer.concat([Buffer.from(json), Buffer.from(',"id":"tail"}')]);
    assert.equal(peekJsonId(body, json.length), undefined);
    assert.equal(peekJsonId(Buffer.from('{"id":"x"}\u0000\u0001binary'), 10), 'x');
  });
});
