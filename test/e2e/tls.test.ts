/**
 * TLS on a model server's three listeners (REST, gRPC, metrics) over real loopback sockets, with
 * certificates made at test time by the openssl CLI: clients that trust the CA get answers; a
 * plaintext client on a TLS port fails cleanly and the server keeps serving; mutual TLS refuses a
 * client without a certificate or with one from another CA; and replacing the certificate files
 * on disk changes what new connections see, without a restart and without breaking open ones.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { Pool } from 'undici';
import * as grpc from '@grpc/grpc-js';
import { createClient, type InferenceClient } from '../../src/client/index.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer } from '../helpers/test-server.js';
import { createTestPki, type CertPair, type TestPki } from '../helpers/test-pki.js';
import { fileFingerprint, handshakeAccepted, presentedFingerprint } from '../helpers/tls-probe.js';
import { eventually } from '../helpers/eventually.js';

let pki: TestPki;
let repo: TempModelRepository;
let ca: Buffer;

const A = Float32Array.from([1, 2, 3, 4]);
const B = Float32Array.from([10, 20, 30, 40]);
const inputs = [
  { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: A },
  { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: B },
] as const;

before(async () => {
  pki = await createTestPki();
  ca = await readFile(pki.ca.certFile);
  repo = await createTempModelRepository({ simple: { versions: { 1: addSubModel('FP32', [4], true) }, config: 'max_batch_size: 8\n' } });
});

after(async () => {
  await repo?.remove();
  await pki?.remove();
});

async function inferSum(client: InferenceClient): Promise<number[]> {
  const result = await client.infer('simple', [...inputs]);
  return Array.from(result.output('OUTPUT0').data as Float32Array);
}

async function withClient<T>(options: Parameters<typeof createClient>[0], use: (client: InferenceClient) => Promise<T>): Promise<T> {
  const client = createClient(options);
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

async function clientFiles(pair: CertPair): Promise<{ cert: Buffer; key: Buffer }> {
  return { cert: await readFile(pair.certFile), key: await readFile(pair.keyFile) };
}

function httpsGet(
  port: number,
  path: string,
  options: { ca: Buffer; cert?: Buffer; key?: Buffer; agent?: HttpsAgent },
): Promise<{ status: number; body: string; reused: boolean; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port, path, ...options }, (res) => {
      // Read while the socket is attached (a keep-alive agent takes it back at the end).
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          reused: req.reusedSocket,
          fingerprint,
        }),
      );
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const SUM = [11, 22, 33, 44];

test('TLS: REST, gRPC and metrics answer clients that trust the CA; plaintext and untrusting clients fail cleanly', async () => {
  const server = await startTestServer({ modelRepository: repo.root, tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile } });
  try {
    const { http, grpc: grpcPort, metrics } = server.ports;
    assert.deepEqual(await withClient({ url: `https://127.0.0.1:${http}`, tls: { ca } }, inferSum), SUM);
    assert.deepEqual(await withClient({ url: `https://localhost:${http}`, tls: { ca } }, inferSum), SUM, 'the DNS name in the certificate works too');
    assert.deepEqual(await withClient({ url: `grpcs://127.0.0.1:${grpcPort}`, tls: { ca } }, inferSum), SUM);
    assert.deepEqual(await withClient({ url: `grpcs://localhost:${grpcPort}`, tls: { ca } }, inferSum), SUM);
    const scraped = await httpsGet(metrics, '/metrics', { ca });
    assert.equal(scraped.status, 200);
    assert.match(scraped.body, /nv_inference_request_success|cranberries_/);
    assert.equal(scraped.fingerprint, fileFingerprint(pki.server.certFile));

    // A plaintext HTTP client on the TLS port: a transport error, not a hang and not an answer.
    const plain = new Pool(`http://127.0.0.1:${http}`, { connections: 1 });
    await assert.rejects(plain.request({ method: 'GET', path: '/v2/health/live', headersTimeout: 10_000, bodyTimeout: 10_000 }));
    await plain.destroy();
    // A plaintext gRPC client: UNAVAILABLE.
    const insecure = createClient({ url: `grpc://127.0.0.1:${grpcPort}`, timeoutMs: 5000 });
    await assert.rejects(insecure.serverLive(), /No connection established|UNAVAILABLE|Deadline/i);
    await insecure.close();
    // A TLS client that does not trust the CA (system roots only) is refused by its own check.
    await assert.rejects(
      withClient({ url: `https://127.0.0.1:${http}` }, (c) => c.serverLive()),
      /self[- ]signed|unable to (get|verify)|certificate/i,
    );
    await assert.rejects(withClient({ url: `grpcs://127.0.0.1:${grpcPort}`, timeoutMs: 5000 }, (c) => c.serverLive()));

    // The server still serves on every port.
    assert.deepEqual(await withClient({ url: `https://127.0.0.1:${http}`, tls: { ca } }, inferSum), SUM);
    assert.deepEqual(await withClient({ url: `grpcs://127.0.0.1:${grpcPort}`, tls: { ca } }, inferSum), SUM);
  } finally {
    await server.stop();
  }
});

test("mutual TLS: a client certificate from the CA is required on every port; none or another CA's is refused", async () => {
  const server = await startTestServer({ modelRepository: repo.root, tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile } });
  try {
    const { http, grpc: grpcPort, metrics } = server.ports;
    const good = await clientFiles(pki.client);
    const foreign = await clientFiles(pki.otherClient);
    assert.deepEqual(await withClient({ url: `https://127.0.0.1:${http}`, tls: { ca, ...good } }, inferSum), SUM);
    assert.deepEqual(await withClient({ url: `grpcs://127.0.0.1:${grpcPort}`, tls: { ca, ...good } }, inferSum), SUM);
    assert.equal((await httpsGet(metrics, '/metrics', { ca, ...good })).status, 200);

    for (const [name, port, alpn] of [
      ['http', http, undefined],
      ['grpc', grpcPort, 'h2'],
      ['metrics', metrics, undefined],
    ] as const) {
      assert.equal((await handshakeAccepted(port, { ca, ...good }, alpn)).accepted, true, `${name}: client certificate from the CA`);
      const none = await handshakeAccepted(port, { ca }, alpn);
      assert.equal(none.accepted, false, `${name}: no client certificate must be refused`);
      const other = await handshakeAccepted(port, { ca, ...foreign }, alpn);
      assert.equal(other.accepted, false, `${name}: a certificate from another CA must be refused`);
    }
    await assert.rejects(withClient({ url: `https://127.0.0.1:${http}`, tls: { ca } }, (c) => c.serverLive()));
    await assert.rejects(withClient({ url: `grpcs://127.0.0.1:${grpcPort}`, timeoutMs: 5000, tls: { ca, ...foreign } }, (c) => c.serverLive()));

    // Refused handshakes leave the server serving.
    assert.deepEqual(await withClient({ url: `https://127.0.0.1:${http}`, tls: { ca, ...good } }, inferSum), SUM);
    assert.deepEqual(await withClient({ url: `grpcs://127.0.0.1:${grpcPort}`, tls: { ca, ...good } }, inferSum), SUM);
  } finally {
    await server.stop();
  }
});

test('certificate reload: new connections see the replaced certificate on every port, open ones keep working, a bad file keeps the current one', async () => {
  // The server reads copies, so the test can replace them.
  const live = { certFile: `${pki.dir}/live.crt`, keyFile: `${pki.dir}/live.key` };
  await copyFile(pki.server.certFile, live.certFile);
  await copyFile(pki.server.keyFile, live.keyFile);
  const server = await startTestServer({ modelRepository: repo.root, tls: { ...live, reloadPollMs: 1000 } });
  const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1 });
  const grpcClient = createClient({ url: `grpcs://127.0.0.1:${server.ports.grpc}`, tls: { ca } });
  try {
    const { http, grpc: grpcPort, metrics } = server.ports;
    const first = fileFingerprint(pki.server.certFile);
    const ports = [
      ['http', http, undefined],
      ['grpc', grpcPort, 'h2'],
      ['metrics', metrics, undefined],
    ] as const;
    for (const [name, port, alpn] of ports) assert.equal(await presentedFingerprint(port, ca, alpn), first, name);
    // Open connections made with the first certificate.
    const before = await httpsGet(http, '/v2/health/live', { ca, agent });
    assert.equal(before.fingerprint, first);
    assert.deepEqual(await inferSum(grpcClient), SUM);

    const renewed = await pki.issue(pki.ca, 'renewed', 'server');
    const second = fileFingerprint(renewed.certFile);
    assert.notEqual(second, first);
    await writeFile(live.keyFile, await readFile(renewed.keyFile));
    await writeFile(live.certFile, await readFile(renewed.certFile));
    for (const [name, port, alpn] of ports) {
      await eventually(async () => (await presentedFingerprint(port, ca, alpn)) === second, `${name} port to present the renewed certificate`, 15_000);
    }
    // The keep-alive connection opened before the reload still answers, on its first certificate.
    const reused = await httpsGet(http, '/v2/health/live', { ca, agent });
    assert.equal(reused.status, 200);
    assert.equal(reused.reused, true, 'the same connection as before the reload');
    assert.equal(reused.fingerprint, first);
    assert.deepEqual(await inferSum(grpcClient), SUM, 'the gRPC channel opened before the reload still works');

    // A broken certificate (the key of another certificate, then garbage) is not taken.
    await writeFile(live.certFile, await readFile(pki.client.certFile));
    await writeFile(live.certFile, 'not a certificate\n');
    await new Promise((r) => setTimeout(r, 2500)); // past the debounce and two polls
    for (const [name, port, alpn] of ports) assert.equal(await presentedFingerprint(port, ca, alpn), second, `${name} keeps the renewed certificate`);
    assert.deepEqual(await withClient({ url: `https://127.0.0.1:${http}`, tls: { ca } }, inferSum), SUM);
    assert.deepEqual(await withClient({ url: `grpcs://127.0.0.1:${grpcPort}`, tls: { ca } }, inferSum), SUM);

    // Fixed files are taken again: the watcher survived the failure.
    await writeFile(live.keyFile, await readFile(pki.server.keyFile));
    await writeFile(live.certFile, await readFile(pki.server.certFile));
    for (const [name, port, alpn] of ports) {
      await eventually(async () => (await presentedFingerprint(port, ca, alpn)) === first, `${name} port to present the first certificate again`, 15_000);
    }
  } finally {
    agent.destroy();
    await grpcClient.close();
    await server.stop();
  }
});

test('grpc-js credentials: a plaintext grpc-js channel on the TLS port fails with UNAVAILABLE and the port keeps serving', async () => {
  const server = await startTestServer({ modelRepository: repo.root, tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile } });
  try {
    const channel = new grpc.Client(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure());
    const code = await new Promise<grpc.status>((resolve) => {
      channel.makeUnaryRequest(
        '/inference.GRPCInferenceService/ServerLive',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        { deadline: Date.now() + 5000 },
        (error) => resolve(error?.code ?? grpc.status.OK),
      );
    });
    channel.close();
    assert.ok([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED].includes(code), `got status ${code}`);
    assert.equal(await withClient({ url: `grpcs://127.0.0.1:${server.ports.grpc}`, tls: { ca } }, (c) => c.serverLive()), true);
  } finally {
    await server.stop();
  }
});
