import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../../core/errors.js';
import { parseTfsRestPath } from './tfs-rest-path.js';

void test('status, metadata and the POST verbs, with version or label, case-insensitively', () => {
  assert.deepEqual(parseTfsRestPath('GET', '/v1/models/digits'), { kind: 'status', ref: { model: 'digits', version: undefined, label: undefined } });
  assert.deepEqual(parseTfsRestPath('GET', '/v1/models/digits/versions/12/metadata'), { kind: 'metadata', ref: { model: 'digits', version: 12, label: undefined } });
  assert.deepEqual(parseTfsRestPath('GET', '/V1/Models/digits/LABELS/stable?x=1'), { kind: 'status', ref: { model: 'digits', version: undefined, label: 'stable' } });
  assert.deepEqual(parseTfsRestPath('POST', '/v1/models/my%20model:predict'), { kind: 'predict', ref: { model: 'my model', version: undefined, label: undefined } });
  assert.deepEqual(parseTfsRestPath('POST', '/v1/models/m/versions/3:CLASSIFY'), { kind: 'classify', ref: { model: 'm', version: 3, label: undefined } });
  assert.deepEqual(parseTfsRestPath('POST', '/v1/models/m/labels/canary:regress'), { kind: 'regress', ref: { model: 'm', version: undefined, label: 'canary' } });
});

void test('anything else is a 400 with TF Serving messages', () => {
  const malformed = (method: string, url: string): void =>
    assert.throws(
      () => parseTfsRestPath(method, url),
      (e: unknown) => e instanceof CranberriesError && e.code === 'INVALID_ARGUMENT' && e.message === `Malformed request: ${method} ${url}`,
      `${method} ${url}`,
    );
  malformed('GET', '/v1/models/m:predict');
  malformed('POST', '/v1/models/m/metadata');
  malformed('POST', '/v1/models/m');
  malformed('DELETE', '/v1/models/m');
  malformed('GET', '/v1/models/m/versions/x');
  malformed('GET', '/v1/models/m/versions/1/labels/a');
  malformed('POST', '/v1/models/m:explain');
  malformed('GET', '/v1/other');
  malformed('GET', '/v1/models/%E0%A4%A');
  assert.throws(
    () => parseTfsRestPath('GET', '/v1/models'),
    (e: unknown) => e instanceof CranberriesError && e.message === 'Missing model name in request.',
  );
});
