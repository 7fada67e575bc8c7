import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessPolicy } from './access-policy.js';
import { parseRestriction } from '../cli/access-flags.js';
import { bearerToken, TokenStore } from './token-store.js';

test('bearer tokens: the scheme is case-insensitive, anything else is no token', () => {
  assert.equal(bearerToken('Bearer abc'), 'abc');
  assert.equal(bearerToken('bearer abc'), 'abc');
  assert.equal(bearerToken('Basic abc'), undefined);
  assert.equal(bearerToken('Bearer'), undefined);
  assert.equal(bearerToken('Bearer a b'), undefined);
  assert.equal(bearerToken(undefined), undefined);
});

test('a token store accepts exactly its tokens', () => {
  const store = TokenStore.of(['one', 'two']);
  assert.equal(store.accepts('one'), true);
  assert.equal(store.accepts('two'), true);
  assert.equal(store.accepts('on'), false);
  assert.equal(store.accepts('one '), false);
  assert.equal(store.accepts(''), false);
  assert.equal(store.accepts('x'.repeat(100_000)), false);
  assert.throws(() => TokenStore.of([]), /at least one token/);
  assert.throws(() => TokenStore.of(['has space']), /whitespace/);
});

test('a token file: comments and blank lines skipped; an empty file is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tokens-'));
  try {
    const file = join(dir, 't');
    await writeFile(file, '# comment\n\n  alpha  \r\nbeta\n');
    const store = TokenStore.fromFile(file);
    assert.equal(store.accepts('alpha'), true);
    assert.equal(store.accepts('beta'), true);
    store.close();
    await writeFile(file, '# nothing\n');
    assert.throws(() => TokenStore.fromFile(file), /holds no token/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('policy: admin groups need the admin token, inference takes either, health and metadata are open', () => {
  const policy = new AccessPolicy({ adminTokens: TokenStore.of(['adm']), inferenceTokens: TokenStore.of(['inf']) });
  const headers = (token?: string) => (name: string) => (name === 'authorization' && token !== undefined ? `Bearer ${token}` : undefined);
  assert.equal(policy.checkRest('cluster-admin', headers())?.kind, 'unauthenticated');
  assert.equal(policy.checkRest('cluster-admin', headers('inf'))?.kind, 'unauthenticated');
  assert.equal(policy.checkRest('cluster-admin', headers('adm')), undefined);
  assert.equal(policy.checkRest('inference', headers('inf')), undefined);
  assert.equal(policy.checkRest('inference', headers('adm')), undefined);
  assert.equal(policy.checkGrpc('inference', headers())?.kind, 'unauthenticated');
  assert.equal(policy.checkRest('health', headers()), undefined);
  assert.equal(policy.checkRest('metadata', headers()), undefined);
  assert.equal(new AccessPolicy().open, true);
  assert.equal(policy.open, false);
});

test("restricted groups: Triton's flag syntax and messages", () => {
  const restriction = parseRestriction('model-repository,cluster-admin:Admin-Key=s3cret', '--http-restricted-api');
  assert.deepEqual(restriction, { groups: ['model-repository', 'cluster-admin'], key: 'admin-key', value: 's3cret' });
  assert.throws(() => parseRestriction('nope:a=b', '--http-restricted-api'), /unknown API group 'nope'/);
  assert.throws(() => parseRestriction('health', '--http-restricted-api'), /expected GROUP/);
  assert.throws(() => parseRestriction('health:a=', '--http-restricted-api'), /must not be empty/);
  const policy = new AccessPolicy({ restrictedHttp: [restriction], restrictedGrpc: [restriction] });
  const none = (): undefined => undefined;
  assert.deepEqual(policy.checkRest('model-repository', none), { kind: 'restricted', message: "This API is restricted, expecting header 'admin-key'" });
  assert.equal(
    policy.checkRest('model-repository', (name) => (name === 'admin-key' ? 's3cret' : undefined)),
    undefined,
  );
  assert.equal(policy.checkGrpc('cluster-admin', none)?.message, "This protocol is restricted, expecting header 'triton-grpc-protocol-admin-key'");
  assert.equal(
    policy.checkGrpc('cluster-admin', (name) => (name === 'triton-grpc-protocol-admin-key' ? 's3cret' : undefined)),
    undefined,
  );
  assert.throws(() => new AccessPolicy({ restrictedHttp: [restriction, restriction] }), /restricted more than once/);
});
