import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forwardedHeaders } from './forwarded-headers.js';

test('the gateway forwards the W3C trace context to the worker, and not cookies', () => {
  const headers = forwardedHeaders({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=1', cookie: 'secret=1', 'content-type': 'application/json' }, 'req-1');
  assert.equal(headers['traceparent'], '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(headers['tracestate'], 'vendor=1');
  assert.equal(headers['cookie'], undefined);
  assert.equal(headers['x-request-id'], 'req-1');
});
