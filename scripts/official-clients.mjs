#!/usr/bin/env node
// Runs Triton's own Python example clients, unchanged, against Cranberries and prints a table of
// what passed. The clients are not in this repository (nor installable offline): point the script
// at a checkout of github.com/triton-inference-server/client whose `tritonclient` package can be
// imported (its gRPC stubs generated from triton-inference-server/common's protos).
//
// Usage: npm run build && node scripts/official-clients.mjs --examples <client>/src/python/examples \
//          [--pythonpath <dir holding tritonclient/>] [--only <substring>]
//
// The example model repositories are built in code (test/fixtures/triton-examples.ts) into a temp
// folder and served in explicit mode with every model loaded, as Triton's QA layout is.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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

/** [example file, extra arguments besides the address, what its output must show]. Decoupled and CUDA examples need models we do not build. */
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
  // The image clients classify a red picture with `image_colour` (densenet_onnx's contract). image_client.py
  // over HTTP needs the unmaintained `attrdict` package, which Debian does not ship: gRPC only.
  ['image_client.py', ['-i', 'grpc', '-m', 'image_colour', '-c', '3', '-s', 'NONE', '{image}'], /RED/],
  ['image_client.py', ['-i', 'grpc', '-a', '-m', 'image_colour', '-c', '3', '-s', 'NONE', '{image}'], /RED/],
  ['image_client.py', ['-i', 'grpc', '--streaming', '-m', 'image_colour', '-c', '3', '-s', 'NONE', '{image}'], /RED/],
  ['grpc_image_client.py', ['-m', 'image_colour', '-c', '3', '-s', 'NONE', '{image}'], /RED/],
];

const { tritonExampleModels } = await import(join(root, 'dist/test/fixtures/triton-examples.js'));
const { sequenceModels } = await import(join(root, 'dist/test/fixtures/sequence-models.js'));
const { writeModelRepository } = await import(join(root, 'dist/test/fixtures/onnx-models.js'));
// Two repositories, served one after the other: the model-control examples count the models in
// theirs (seven), so the image model gets a repository of its own.
const { image_colour: imageColour, ...simpleModels } = tritonExampleModels();
const scratch = await mkdtemp(join(tmpdir(), 'cranberries-triton-examples-'));
const repositories = {
  simple: await writeModelRepository(join(scratch, 'simple'), { ...simpleModels, ...sequenceModels() }),
  image: await writeModelRepository(join(scratch, 'image'), { image_colour: imageColour }),
};
// A 300×200 picture, mostly red, as a binary PPM (PIL reads it; no image library needed here).
const image = join(scratch, 'red.ppm');
const [width, height] = [300, 200];
const pixels = Buffer.alloc(width * height * 3);
for (let i = 0; i < width * height; i++) pixels.set(i % 7 === 0 ? [20, 200, 40] : [210, 30, 25], i * 3);
await writeFile(image, Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), pixels]));

const httpPort = values['http-port'];
const grpcPort = values['grpc-port'];
const rows = [];
try {
  for (const [name, repository] of Object.entries(repositories)) {
    const examples = EXAMPLES.filter(([file, args]) => file.includes(values.only) && existsSync(join(values.examples, file)) && args.includes('{image}') === (name === 'image'));
    if (examples.length > 0) rows.push(...(await runExamples(repository, examples)));
  }
  const passed = rows.filter((r) => r.pass).length;
  console.log(`\n${passed}/${rows.length} official examples pass unchanged`);
  process.exitCode = passed === rows.length ? 0 : 1;
} finally {
  await rm(scratch, { recursive: true, force: true });
}

async function runExamples(repository, examples) {
  const server = spawn(
    process.execPath,
    [
      join(root, 'dist/src/cli/main.js'),
      'serve',
      '--model-repository',
      repository,
      '--model-control-mode',
      'explicit',
      '--load-model',
      '*',
      '--http-port',
      httpPort,
      '--grpc-port',
      grpcPort,
      '--metrics-port',
      '0',
      '--log-level',
      'warn',
      '--allow-client-shm',
      '--server-name',
      'triton',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const results = [];
  try {
    await waitReady(`http://127.0.0.1:${httpPort}/v2/health/ready`, 60_000);
    for (const [file, exampleArgs, expected] of examples) {
      const args = exampleArgs.map((arg) => (arg === '{image}' ? image : arg));
      const url = file.includes('http') || file === 'reuse_infer_objects_client.py' ? `localhost:${httpPort}` : `localhost:${grpcPort}`;
      const extra = file === 'reuse_infer_objects_client.py' ? ['-i', 'http'] : [];
      const run = spawnSync('/usr/bin/python3', [join(values.examples, file), '-u', url, ...extra, ...args], {
        env: { ...process.env, PYTHONPATH: values.pythonpath },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n');
      const name = [file, ...exampleArgs].join(' ');
      const pass = run.status === 0 && (expected === undefined || expected.test(output.join('\n')));
      results.push({ file: name, pass, last: output.slice(-1)[0]?.slice(0, 100) ?? '' });
      console.log(`${pass ? 'PASS' : 'FAIL'}  ${name}${pass ? '' : `\n      ${output.slice(-6).join('\n      ')}`}`);
    }
  } finally {
    server.kill('SIGTERM');
    await exited; // the ports are free for the next repository
  }
  return results;
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
