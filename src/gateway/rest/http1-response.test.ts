import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Http1ResponseParser, MalformedResponse, MAX_HEAD_BYTES, type Http1Response } from './http1-response.js';

/** Feeds `wire` whole, then byte by byte: both must give the same answer. */
function parse(wire: string | Buffer, options: { head?: boolean; close?: boolean } = {}): Http1Response {
  const bytes = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const results: Http1Response[] = [];
  for (const step of [bytes.length, 1]) {
    const parser = new Http1ResponseParser(options.head === true);
    let result: Http1Response | undefined;
    for (let at = 0; at < bytes.length && result === undefined; at += step) result = parser.push(bytes.subarray(at, at + step));
    if (options.close) {
      assert.equal(result, undefined, 'a close-delimited body is not complete before the close');
      result = parser.end();
    }
    assert.ok(result, `complete when fed ${step === 1 ? 'byte by byte' : 'whole'}`);
    results.push(result);
  }
  const [whole, bytewise] = results as [Http1Response, Http1Response];
  assert.deepEqual({ ...bytewise, body: Buffer.concat(bytewise.body) }, { ...whole, body: Buffer.concat(whole.body) });
  return whole;
}

const text = (response: Http1Response): string => Buffer.concat(response.body).toString('latin1');

describe('Http1ResponseParser', () => {
  it('reads a Content-Length body, headers lower-cased, a repeated header as an array, and the keep-alive hint', () => {
    const response = parse('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\nKeep-Alive: timeout=5\r\nContent-Length: 7\r\n\r\n{"a":1}');
    assert.equal(response.statusCode, 200);
    assert.equal(text(response), '{"a":1}');
    assert.equal(response.length, 7);
    assert.equal(response.headers['content-type'], 'application/json');
    assert.deepEqual(response.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(response.keepAlive, true);
    assert.equal(response.keepAliveTimeoutMs, 5000);
  });

  it('decodes a chunked body with chunk extensions and trailers', () => {
    const response = parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n9\r\npedia in \r\nb\r\n chunks.xyz\r\n0\r\nX-Trailer: t\r\n\r\n');
    assert.equal(text(response), 'Wikipedia in  chunks.xyz');
    assert.equal(response.keepAlive, true);
  });

  it('reads a body without length until the connection closes, and does not reuse that connection', () => {
    const response = parse('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it', { close: true });
    assert.equal(text(response), 'all of it');
    assert.equal(response.keepAlive, false);
  });

  it('skips interim 1xx answers', () => {
    const response = parse('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    assert.equal(response.statusCode, 201);
    assert.equal(response.headers['link'], undefined);
    assert.equal(text(response), 'ok');
  });

  it('reads no body after HEAD, 204 and 304', () => {
    assert.equal(parse('HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n', { head: true }).length, 0);
    assert.equal(parse('HTTP/1.1 204 No Content\r\n\r\n').length, 0);
    assert.equal(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').length, 0);
  });

  it('keeps a connection only when the answer allows it', () => {
    assert.equal(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
    assert.equal(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').keepAlive, false);
    assert.equal(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').keepAlive, true);
    // A length next to chunked coding: the coding frames the body, and the connection is not reused.
    const both = parse('HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
    assert.equal(text(both), 'hi');
    assert.equal(both.keepAlive, false);
  });

  it('marks a connection that sent more than the answer as not reusable', () => {
    const parser = new Http1ResponseParser(false);
    const response = parser.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n'));
    assert.equal(response?.keepAlive, false);
    assert.equal(parser.extra, 17);
  });

  it('does not report an answer cut short by the close', () => {
    const parser = new Http1ResponseParser(false);
    assert.equal(parser.push(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')), undefined);
    assert.equal(parser.end(), undefined);
  });

  it('refuses what a worker would never send', () => {
    const malformed: [string, string | Buffer][] = [
      ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n'],
      ['HTTP/2 status line', 'HTTP/2 200\r\n\r\n'],
      ['a header without a name', 'HTTP/1.1 200 OK\r\n: x\r\n\r\n'],
      ['a header line without a colon', 'HTTP/1.1 200 OK\r\nnonsense\r\n\r\n'],
      ['a negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'],
      ['a length that is not a number', 'HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n'],
      ['two different lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'],
      ['a coding the gateway cannot undo', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n'],
      ['a protocol switch', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
      ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
      ['a chunk longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n'],
      ['a chunk-size line that never ends', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'1'.repeat(2000)}`],
      ['a head longer than the limit', `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`],
    ];
    for (const [what, wire] of malformed) {
      const parser = new Http1ResponseParser(false);
      assert.throws(() => parser.push(Buffer.from(wire as string, 'latin1')), MalformedResponse, what);
    }
  });
});
