#!/usr/bin/env node
/**
 * CPU cost of request tracing per REST inference: starts `cranberries serve` (explicit mode,
 * the bundled digits model only) in a child process per configuration, sends sequential REST
 * infers over one keep-alive connection, and reads the server's CPU time around the measured loop:
 * its main thread's (/proc/<pid>/task/<pid>/stat), where request handling and all tracing work
 * run, and the whole process's (ONNX Runtime's threads included, whose spinning between batches
 * dominates and varies). Linux only.
 *
 *   node scripts/trace-overhead.mjs [--requests 10000] [--rounds 3] [--baseline <other checkout>] [--only off,triton]
 *
 * Configurations: `baseline` (another checkout's build, e.g. main, if given), `off` (this build,
 * tracing OFF: the default), `triton` (TIMESTAMPS, rate 1, Triton trace file with
 * log-frequency 1000) and `otel` (TIMESTAMPS, rate 1, OTLP/HTTP export to a local receiver that
 * discards). Rounds interleave the configurations; the median per configuration is reported.
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const REQUESTS = Number(option('--requests', '10000'));
const ROUNDS = Number(option('--rounds', '3'));
const WARMUP = 1000;
const baseline = option('--baseline', undefined);
const only = option('--only', undefined)?.split(',');
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

const body = JSON.stringify({ inputs: [{ name: 'image', shape: [1, 1, 8, 8], datatype: 'FP32', data: Array.from({ length: 64 }, (_, i) => i % 17) }] });

/** CPU ticks of the whole process and of its main thread (where all request handling and tracing runs). */
function cpuTicks(pid) {
  const ticks = (path) => {
    const fields = readFileSync(path, 'utf8').split(') ')[1].split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14, 15)
  };
  return { process: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) };
}

function post(agent, port) {
  return new Promise((resolvePost, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/v2/models/digits/infer', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolvePost() : reject(new Error(`status ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function statusOf(port, path) {
  return new Promise((resolveStatus, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      res.resume();
      resolveStatus(res.statusCode);
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitReady(port) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await statusOf(port, '/v2/models/digits/ready')) === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error('server did not become ready');
}

let nextPort = 19000 + Math.floor(Math.random() * 2000) * 3;

async function measure(checkout, traceFlags) {
  const port = nextPort;
  nextPort += 3;
  const child = spawn(
    process.execPath,
    [
      join(checkout, 'dist/src/cli/main.js'),
      'serve',
      '--model-repository',
      join(root, 'models'),
      '--model-control-mode',
      'explicit',
      '--load-model',
      'digits',
      '--host',
      '127.0.0.1',
      '--http-port',
      String(port),
      '--grpc-port',
      String(port + 1),
      '--metrics-port',
      String(port + 2),
      '--log-level',
      'warn',
      ...traceFlags,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    await waitReady(port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < WARMUP; i++) await post(agent, port);
    const before = cpuTicks(child.pid);
    const started = process.hrtime.bigint();
    for (let i = 0; i < REQUESTS; i++) await post(agent, port);
    const wallNs = Number(process.hrtime.bigint() - started);
    const after = cpuTicks(child.pid);
    agent.destroy();
    const perRequestUs = (ticks) => (ticks / TICKS_PER_SECOND / REQUESTS) * 1e6;
    return { mainUsPerRequest: perRequestUs(after.main - before.main), cpuUsPerRequest: perRequestUs(after.process - before.process), wallUsPerRequest: wallNs / REQUESTS / 1000 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const receiver = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
const otlpUrl = `http://127.0.0.1:${receiver.address().port}/v1/traces`;
const traceDir = mkdtempSync(join(tmpdir(), 'trace-overhead-'));

const allConfigurations = [
  ...(baseline ? [{ name: 'baseline', checkout: resolve(baseline), flags: [] }] : []),
  { name: 'off', checkout: root, flags: [] },
  {
    name: 'triton',
    checkout: root,
    flags: ['--trace-config', 'level=TIMESTAMPS', '--trace-config', 'rate=1', '--trace-config', `triton,file=${join(traceDir, 't.json')}`, '--trace-config', 'triton,log-frequency=1000'],
  },
  { name: 'otel', checkout: root, flags: ['--trace-config', 'mode=opentelemetry', '--trace-config', 'level=TIMESTAMPS', '--trace-config', 'rate=1', '--trace-config', `opentelemetry,url=${otlpUrl}`] },
];
const configurations = allConfigurations.filter((c) => !only || only.includes(c.name));
const results = new Map(configurations.map((c) => [c.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  // Odd rounds run the configurations in reverse, so a drifting machine load favours none.
  for (const configuration of round % 2 === 0 ? configurations : [...configurations].reverse()) {
    const result = await measure(configuration.checkout, configuration.flags);
    results.get(configuration.name).push(result);
    console.log(
      `round ${round + 1} ${configuration.name.padEnd(8)} main thread ${result.mainUsPerRequest.toFixed(1)} µs/request, process ${result.cpuUsPerRequest.toFixed(1)} µs/request, wall ${result.wallUsPerRequest.toFixed(1)} µs/request`,
    );
  }
}
receiver.close();
rmSync(traceDir, { recursive: true, force: true });
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(`\nmedian of ${ROUNDS} rounds, ${REQUESTS} sequential REST infers each (digits model):`);
for (const [name, runs] of results) {
  const med = (key) => median(runs.map((r) => r[key])).toFixed(1);
  console.log(`${name.padEnd(8)} main thread ${med('mainUsPerRequest')} µs/request, process ${med('cpuUsPerRequest')} µs/request, wall ${med('wallUsPerRequest')} µs/request`);
}
