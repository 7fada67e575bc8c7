/**
 * The TLS flags end to end, as a user runs them: `cranberries serve` (the standalone one-node
 * cluster, admin API included) with --tls-cert-file/--tls-key-file/--tls-ca-file as a real process,
 * then `cranberries infer` over https:// and grpcs:// with the client flags, the admin API and
 * metrics over mutual TLS, and Python's grpcio over TLS (ssl_channel_credentials).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';
import { waitFor } from '../helpers/test-server.js';

const run = promisify(execFile);
const MAIN = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const PYTHON = '/usr/bin/python3';
const PROTO_ROOT = join(PACKAGE_ROOT, 'proto');
const REQUEST = join(PACKAGE_ROOT, 'examples/digits/request.json');

let pki: TestPki;
let child: ChildProcess;
let ports: { http: number; grpc: number; metrics: number };
let expectedLabel: number;
let pixels: string;
let clientTls: { ca: Buffer; cert: Buffer; key: Buffer };

async function protoFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await protoFiles(path)));
    else if (entry.name.endsWith('.proto')) found.push(relative(PROTO_ROOT, path));
  }
  return found.sort();
}

before(async () => {
  pki = await createTestPki();
  clientTls = { ca: await readFile(pki.ca.certFile), cert: await readFile(pki.client.certFile), key: await readFile(pki.client.keyFile) };
  expectedLabel = (JSON.parse(await readFile(join(PACKAGE_ROOT, 'examples/digits/request.expected.json'), 'utf8')) as { label: number }).label;
  const data = (JSON.parse(await readFile(REQUEST, 'utf8')) as { inputs: { data: number[] }[] }).inputs[0]!.data;
  const rows = Array.from({ length: 8 }, (_, r) => data.slice(r * 8, r * 8 + 8));
  pixels = JSON.stringify([[rows]]);
  child = spawn(
    process.execPath,
    [
      MAIN,
      'serve',
      '--host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--metrics-port',
      '0',
      '--tls-cert-file',
      pki.server.certFile,
      '--tls-key-file',
      pki.server.keyFile,
      '--tls-ca-file',
      pki.ca.certFile,
    ],
    { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  ports = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve did not log its ports within 60 s')), 60_000);
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { http?: number; grpc?: number; metrics?: number; tls?: string };
      if (typeof entry.http === 'number' && typeof entry.grpc === 'number' && typeof entry.metrics === 'number') {
        clearTimeout(timer);
        assert.equal(entry.tls, 'mutual TLS');
        resolve({ http: entry.http, grpc: entry.grpc, metrics: entry.metrics });
      }
    });
  });
  const pool = new Pool(`https://127.0.0.1:${ports.http}`, { connect: clientTls });
  await waitFor(
    async () => {
      const answer = await pool.request({ method: 'GET', path: '/v2/models/digits/ready' });
      await answer.body.dump();
      return answer.statusCode === 200;
    },
    60_000,
    'digits to be ready',
  );
  await pool.close();
});

after(async () => {
  child?.kill('SIGTERM');
  await pki?.remove();
});

const tlsFlags = (): string[] => ['--tls-ca-file', pki.ca.certFile, '--tls-cert-file', pki.client.certFile, '--tls-key-file', pki.client.keyFile];

test('cranberries infer over https:// and grpcs:// with the client TLS flags', async () => {
  for (const url of [`https://127.0.0.1:${ports.http}`, `grpcs://127.0.0.1:${ports.grpc}`]) {
    const { stdout } = await run(process.execPath, [MAIN, 'infer', '-u', url, '-m', 'digits', '-i', `image=${pixels}`, '--json', ...tlsFlags()], { timeout: 60_000 });
    const result = JSON.parse(stdout) as { outputs: { name: string; data: number[] }[] };
    assert.deepEqual(result.outputs.find((o) => o.name === 'label')?.data, [expectedLabel], url);
  }
  // Without a client certificate the server refuses: the command fails.
  await assert.rejects(
    run(process.execPath, [MAIN, 'infer', '-u', `https://127.0.0.1:${ports.http}`, '-m', 'digits', '-i', `image=${pixels}`, '--tls-ca-file', pki.ca.certFile, '--timeout', '10000'], {
      timeout: 60_000,
    }),
  );
});

test('the admin API and metrics of serve answer over mutual TLS', async () => {
  const admin = new Pool(`https://127.0.0.1:${ports.http}`, { connect: clientTls });
  const nodes = await admin.request({ method: 'GET', path: '/v2/cluster/nodes' });
  assert.equal(nodes.statusCode, 200);
  assert.match(await nodes.body.text(), /"local"/);
  await admin.close();
  const metrics = new Pool(`https://127.0.0.1:${ports.metrics}`, { connect: clientTls });
  const scraped = await metrics.request({ method: 'GET', path: '/metrics' });
  assert.equal(scraped.statusCode, 200);
  assert.match(await scraped.body.text(), /process_cpu_seconds_total/);
  await metrics.close();
});

test('Python grpcio over TLS with ssl_channel_credentials', async () => {
  assert.ok(existsSync('/usr/lib/python3/dist-packages/grpc/__init__.py'), 'install python3-grpcio python3-grpc-tools (npm test does it)');
  const stubs = await mkdtemp(join(tmpdir(), 'cranberries-pystubs-'));
  try {
    await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${PROTO_ROOT}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, ...(await protoFiles(PROTO_ROOT))], { cwd: PROTO_ROOT, timeout: 120_000 });
    const script = join(PACKAGE_ROOT, 'test/python/tls_grpc.py');
    const args = [script, '--request', REQUEST, '--grpc', `127.0.0.1:${ports.grpc}`, '--stubs', stubs, '--ca', pki.ca.certFile, '--cert', pki.client.certFile, '--key', pki.client.keyFile];
    const { stdout } = await run(PYTHON, args, { timeout: 120_000 }).catch((error: { stderr?: string; message: string }) => {
      throw new Error(`tls_grpc.py failed: ${error.stderr?.trim() || error.message}`);
    });
    const output = JSON.parse(stdout) as { live: boolean; digits: { label: number }; without_client_certificate: string | null };
    assert.equal(output.live, true);
    assert.equal(output.digits.label, expectedLabel);
    assert.equal(output.without_client_certificate, 'UNAVAILABLE');
  } finally {
    await rm(stubs, { recursive: true, force: true });
  }
});
