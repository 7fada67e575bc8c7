#!/usr/bin/env node
// Runs Triton's own Python example clients, unchanged, against Cranberries and prints a table of
// what passed. The clients are not in this repository (nor installable offline): point the script
// at a checkout of github.com/triton-inference-server/client whose `tritonclient` package can be
// imported (its gRPC stubs generated from triton-inference-server/common's protos).
//
// Usage: npm run build && node scripts/official-clients.mjs --examples <client>/src/python/examples \
//          [--pythonpath <dir holding tritonclient/>] [--only <substring>]
//
// The example model repository is built in code (test/fixtures/triton-examples.ts) into a temp
// folder and served in explicit mode with every model loaded, as Triton's QA layout is.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: {
    examples: { type: 'string' },
    pythonpath: { type: 'string', default: process.env.PYTHONPATH ?? '' },
    only: { type: 'string', default: '' },
    'http-port': { type: 'string', default: '18000' },
    'grpc-port': { type: 'string', default: '18001' },
  },
});
if (!values.examples || !existsSync(values.examples)) {
  console.error('Give --examples <triton client checkout>/src/python/examples');
  process.exit(2);
}

/** [example file, extra arguments besides the address]. Decoupled, CUDA and image examples need models we do not build. */
const EXAMPLES = [
  ['simple_http_health_metadata.py', []],
  ['simple_grpc_health_metadata.py', []],
  ['simple_http_infer_client.py', []],
  ['simple_grpc_infer_client.py', []],
  ['simple_http_async_infer_client.py', []],
  ['simple_grpc_async_infer_client.py', []],
  ['simple_http_aio_infer_client.py', []],
  ['simple_grpc_aio_infer_client.py', []],
  ['simple_http_string_infer_client.py', []],
  ['simple_grpc_string_infer_client.py', []],
  ['simple_grpc_custom_args_client.py', []],
  ['simple_grpc_keepalive_client.py', []],
  ['grpc_explicit_byte_content_client.py', []],
  ['grpc_explicit_int_content_client.py', []],
  ['grpc_explicit_int8_content_client.py', []],
  ['reuse_infer_objects_client.py', []],
  ['simple_http_sequence_sync_infer_client.py', []],
  ['simple_http_sequence_sync_infer_client.py', ['-d']],
  ['simple_grpc_sequence_sync_infer_client.py', []],
  ['simple_grpc_sequence_sync_infer_client.py', ['-d']],
  ['simple_grpc_sequence_stream_infer_client.py', []],
  ['simple_grpc_sequence_stream_infer_client.py', ['-d']],
  ['simple_grpc_aio_sequence_stream_infer_client.py', []],
  ['simple_grpc_aio_sequence_stream_infer_client.py', ['-d']],
  ['simple_http_shm_client.py', []],
  ['simple_grpc_shm_client.py', []],
  ['simple_http_shm_string_client.py', []],
  ['simple_grpc_shm_string_client.py', []],
  ['simple_http_model_control.py', []],
  ['simple_grpc_model_control.py', []],
];

const { tritonExampleModels } = await import(join(root, 'dist/test/fixtures/triton-examples.js'));
const { sequenceModels } = await import(join(root, 'dist/test/fixtures/sequence-models.js'));
const { writeModelRepository } = await import(join(root, 'dist/test/fixtures/onnx-models.js'));
const repository = await mkdtemp(join(tmpdir(), 'cranberries-triton-examples-'));
await writeModelRepository(repository, { ...tritonExampleModels(), ...sequenceModels() });

const httpPort = values['http-port'];
const grpcPort = values['grpc-port'];
const server = spawn(
  process.execPath,
  [join(root, 'dist/src/cli/main.js'), 'serve', '--model-repository', repository, '--model-control-mode', 'explicit', '--load-model', '*',
    '--http-port', httpPort, '--grpc-port', grpcPort, '--metrics-port', '0', '--log-level', 'warn', '--allow-client-shm', '--server-name', 'triton'],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
try {
  await waitReady(`http://127.0.0.1:${httpPort}/v2/health/ready`, 60_000);
  const rows = [];
  for (const [file, args] of EXAMPLES) {
    if (!file.includes(values.only)) continue;
    if (!existsSync(join(values.examples, file))) continue;
    const url = file.includes('http') || file === 'reuse_infer_objects_client.py' ? `localhost:${httpPort}` : `localhost:${grpcPort}`;
    const extra = file === 'reuse_infer_objects_client.py' ? ['-i', 'http'] : [];
    const run = spawnSync('/usr/bin/python3', [join(values.examples, file), '-u', url, ...extra, ...args], {
      env: { ...process.env, PYTHONPATH: values.pythonpath },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n');
    const name = [file, ...args].join(' ');
    rows.push({ file: name, pass: run.status === 0, last: output.slice(-1)[0]?.slice(0, 100) ?? '' });
    console.log(`${run.status === 0 ? 'PASS' : 'FAIL'}  ${name}${run.status === 0 ? '' : `\n      ${output.slice(-6).join('\n      ')}`}`);
  }
  const passed = rows.filter((r) => r.pass).length;
  console.log(`\n${passed}/${rows.length} official examples pass unchanged`);
  process.exitCode = passed === rows.length ? 0 : 1;
} finally {
  server.kill('SIGTERM');
  await rm(repository, { recursive: true, force: true });
}

async function waitReady(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const { statusCode, body } = await request(url);
      await body.dump();
      if (statusCode === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new Error(`server not ready at ${url} within ${timeoutMs / 1000} s`);
}
