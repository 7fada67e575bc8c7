/**
 * The Python backend end to end: a real server on loopback, real `/usr/bin/python3` stub processes
 * (Debian's NumPy, SciPy, scikit-learn, PyTorch), requests over REST. Covers every datatype through
 * the process boundary, batching, load/unload/reload, broken models (syntax error, missing file,
 * an estimator without predict_proba, a model that raises), a stub SIGKILLed mid-request, a hung
 * execute bounded by the execution timeout, the bundled examples, and the process (and so its
 * memory) ending at unload.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { bytesTensor, infer, parseBytesTensor, type InferResult } from '../helpers/oip-client.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** A Triton model.py that reports what it saw: its pid, the batch it got, and acts on ACTION. */
const PROBE_PY = `
import json, os, time
import numpy as np
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def initialize(self, args):
        self.config = json.loads(args["model_config"])
        self.folder = args["model_repository"]
        assert args["model_instance_kind"] == "CPU"
        if os.path.exists(os.path.join(self.folder, "slow-start")):
            time.sleep(2)  # keeps a restart observable
        print("probe ready in", args["model_name"], "version", args["model_version"])

    def execute(self, requests):
        responses = []
        for request in requests:
            x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
            action = pb_utils.get_input_tensor_by_name(request, "ACTION").as_numpy().reshape(-1)[0]
            if action == b"raise":
                return [1 / 0]
            if action == b"invalid":
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError("X is not acceptable", pb_utils.TritonError.INVALID_ARG)))
                continue
            if action in (b"sleep", b"hang"):
                open(os.path.join(self.folder, "busy-%d" % os.getpid()), "w").close()
                time.sleep(3600)
            rows = x.shape[0]
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor("Y", x * 2),
                pb_utils.Tensor("PID", np.full((rows, 1), os.getpid(), dtype=np.int64)),
                pb_utils.Tensor("BATCH", np.full((rows, 1), len(requests), dtype=np.int32)),
            ]))
        return responses
`;

function probeConfig(name: string, extra = ''): string {
  return `name: "${name}"
backend: "python"
max_batch_size: 16
input [ { name: "X" data_type: TYPE_FP32 dims: [ 2 ] }, { name: "ACTION" data_type: TYPE_STRING dims: [ 1 ] } ]
output [ { name: "Y" data_type: TYPE_FP32 dims: [ 2 ] }, { name: "PID" data_type: TYPE_INT64 dims: [ 1 ] }, { name: "BATCH" data_type: TYPE_INT32 dims: [ 1 ] } ]
dynamic_batching { max_queue_delay_microseconds: 200000 }
${extra}
`;
}

/** Every datatype: inputs IN_<T> echoed to OUT_<T>, and the NumPy dtype each input arrived as. */
const TYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BF16', 'BYTES'] as const;
const ECHO_PY = `
import numpy as np
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            outputs, dtypes = [], []
            for tensor in request.inputs():
                array = tensor.as_numpy()
                dtypes.append(array.dtype.name)
                outputs.append(pb_utils.Tensor(tensor.name().replace("IN_", "OUT_"), array))
            outputs.append(pb_utils.Tensor("DTYPES", np.array([d.encode() for d in dtypes], dtype=np.object_)))
            responses.append(pb_utils.InferenceResponse(outputs))
        return responses
`;
function echoConfig(): string {
  const config = (t: string): string => (t === 'BYTES' ? 'TYPE_STRING' : `TYPE_${t}`);
  const dims = (t: string): string => (t === 'BYTES' ? '[ 3 ]' : '[ -1 ]');
  return `name: "echo"
backend: "python"
max_batch_size: 0
input [ ${TYPES.map((t) => `{ name: "IN_${t}" data_type: ${config(t)} dims: ${dims(t)} }`).join(', ')} ]
output [ ${TYPES.map((t) => `{ name: "OUT_${t}" data_type: ${config(t)} dims: ${dims(t)} }`).join(', ')}, { name: "DTYPES" data_type: TYPE_STRING dims: [ ${TYPES.length} ] } ]
`;
}

/** Deterministic bytes of `count` elements of `datatype` (BOOL: 0/1). */
function sampleBytes(datatype: string, count: number): Uint8Array {
  const size = { BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, BF16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8 }[datatype]!;
  const bytes = new Uint8Array(count * size);
  for (let i = 0; i < bytes.length; i++) bytes[i] = datatype === 'BOOL' ? i % 2 : (i * 37 + 11) & 0xff;
  // Keep floats finite (NaN payloads need not survive a round trip bit for bit).
  if (datatype === 'FP16' || datatype === 'BF16') for (let i = 1; i < bytes.length; i += 2) bytes[i] = bytes[i]! & 0x3f;
  if (datatype === 'FP32') for (let i = 3; i < bytes.length; i += 4) bytes[i] = bytes[i]! & 0x3f;
  if (datatype === 'FP64') for (let i = 7; i < bytes.length; i += 8) bytes[i] = bytes[i]! & 0x3f;
  return bytes;
}

interface OutputJson {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
function outputs(result: InferResult): OutputJson[] {
  return (result.json['outputs'] as OutputJson[] | undefined) ?? [];
}
function outputOf(result: InferResult, name: string): OutputJson {
  const found = outputs(result).find((o) => o.name === name);
  assert.ok(found, `output ${name} in ${JSON.stringify(result.json).slice(0, 300)}`);
  return found;
}
function errorOf(result: InferResult): string {
  return String(result.json['error']);
}

function probe(url: string, model: string, action: string, x: [number, number] = [1, 2]): Promise<InferResult> {
  return infer(url, model, [
    { name: 'X', datatype: 'FP32', shape: [1, 2], data: x },
    { name: 'ACTION', datatype: 'BYTES', shape: [1, 1], data: [action] },
  ]);
}
async function pidOf(url: string, model: string): Promise<number> {
  const result = await probe(url, model, 'echo');
  assert.equal(result.status, 200, errorOf(result));
  return Number(outputOf(result, 'PID').data[0]);
}
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
async function post(url: string, path: string, body = '{}'): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url + path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await response.text();
  return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

let dir: string;
let repo: string;
let server: TestServer;

async function writeModel(name: string, config: string, files: Record<string, string>): Promise<void> {
  await mkdir(join(repo, name, '1'), { recursive: true });
  await writeFile(join(repo, name, 'config.pbtxt'), config);
  for (const [file, text] of Object.entries(files)) await writeFile(join(repo, name, '1', file), text);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cranberries-python-'));
  repo = join(dir, 'models');
  await writeModel('probe', probeConfig('probe'), { 'model.py': PROBE_PY });
  await writeModel('probe_timeout', probeConfig('probe_timeout', 'parameters: { key: "execution_timeout_ms" value: { string_value: "1500" } }'), { 'model.py': PROBE_PY });
  await writeModel('echo', echoConfig(), { 'model.py': ECHO_PY });
  await writeModel('syntax_error', probeConfig('syntax_error'), { 'model.py': 'class TritonPythonModel:\n    def execute(self, requests)\n        return []\n' });
  await writeModel('no_file', probeConfig('no_file'), {});
  // A classifier without predict_proba (LinearSVC), pickled: the config names only the backend and
  // the file, so inputs and outputs come from the estimator.
  await writeModel('svc', 'backend: "python"\ndefault_model_filename: "model.pkl"\n', {});
  execFileSync(PYTHON, [
    '-c',
    `import pickle, sys
from sklearn.datasets import load_iris
from sklearn.svm import LinearSVC
data = load_iris()
with open(sys.argv[1], "wb") as f:
    pickle.dump(LinearSVC(random_state=0, max_iter=5000).fit(data.data, data.target), f)`,
    join(repo, 'svc', '1', 'model.pkl'),
  ]);
  // TorchScript with two inputs and two outputs; the config lists INPUT__1 first: arguments follow
  // the index in the name (Triton's convention), outputs follow the order the module returns them.
  await writeModel(
    'torch_pair',
    `platform: "pytorch_libtorch"
max_batch_size: 4
input [ { name: "INPUT__1" data_type: TYPE_INT64 dims: [ 2 ] }, { name: "INPUT__0" data_type: TYPE_INT64 dims: [ 2 ] } ]
output [ { name: "OUTPUT__0" data_type: TYPE_INT64 dims: [ 2 ] }, { name: "OUTPUT__1" data_type: TYPE_FP32 dims: [ 2 ] } ]
`,
    {},
  );
  execFileSync(PYTHON, [
    '-c',
    `import sys, torch
class Pair(torch.nn.Module):
    def forward(self, a, b):
        return a * 10 + b, (a - b).float() / 2
example = (torch.ones(1, 2, dtype=torch.int64), torch.ones(1, 2, dtype=torch.int64))
torch.jit.trace(Pair(), example).save(sys.argv[1])`,
    join(repo, 'torch_pair', '1', 'model.pt'),
  ]);
  server = await startTestServer({ modelRepository: repo, controlMode: 'explicit', loadModels: ['probe', 'echo'] });
});

after(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('every datatype crosses the process boundary byte for byte, as the NumPy dtypes Triton uses', async () => {
  const count = 5;
  const strings = ['', 'plain', 'ünïcödé'];
  const inputs = TYPES.map((t) =>
    t === 'BYTES'
      ? { name: `IN_${t}`, datatype: t, shape: [3], bytes: Buffer.concat([bytesTensor(strings.slice(0, 2)), Buffer.from([4, 0, 0, 0, 0, 0xff, 0, 1])]) }
      : { name: `IN_${t}`, datatype: t, shape: [count], bytes: sampleBytes(t, count) },
  );
  const result = await infer(server.url, 'echo', inputs, { binaryOutput: true });
  assert.equal(result.status, 200, JSON.stringify(result.json));
  for (const input of inputs) {
    const name = input.name.replace('IN_', 'OUT_');
    const out = outputOf(result, name);
    assert.equal(out.datatype, input.datatype, name);
    assert.deepEqual(out.shape, input.shape, name);
    assert.deepEqual(Buffer.from(result.binary.get(name)!), Buffer.from(input.bytes), `${name} bytes`);
  }
  const dtypes = parseBytesTensor(result.binary.get('DTYPES')!);
  assert.deepEqual(dtypes, ['bool', 'uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64', 'uint16', 'object']);
});

test('a large tensor goes through /dev/shm both ways and comes back exact', async () => {
  const count = 3 * 1024 * 1024; // 12 MB of FP32: above the 1 MiB file threshold
  const bytes = sampleBytes('FP32', count);
  const inputs = TYPES.map((t) =>
    t === 'FP32'
      ? { name: 'IN_FP32', datatype: t, shape: [count], bytes }
      : t === 'BYTES'
        ? { name: 'IN_BYTES', datatype: t, shape: [3], bytes: bytesTensor(['a', 'b', 'c']) }
        : { name: `IN_${t}`, datatype: t, shape: [1], bytes: sampleBytes(t, 1) },
  );
  const result = await infer(server.url, 'echo', inputs, { binaryOutput: true });
  assert.equal(result.status, 200, JSON.stringify(result.json));
  assert.ok(Buffer.from(result.binary.get('OUT_FP32')!).equals(Buffer.from(bytes)));
  // The bodies went through the stub's own files (one per direction, rewritten in place).
  const files = execFileSync('sh', ['-c', 'find /dev/shm -path "*cranberries-py-*" -type f -printf "%f %s\\n" | sort']).toString().trim().split('\n');
  assert.ok(
    files.some((f) => f.startsWith('in ') && Number(f.split(' ')[1]) >= bytes.byteLength),
    `input file in ${files.join(', ')}`,
  );
  assert.ok(
    files.some((f) => f.startsWith('out ') && Number(f.split(' ')[1]) >= bytes.byteLength),
    `output file in ${files.join(', ')}`,
  );
  assert.ok(
    files.every((f) => /^(in|out) \d+$/.test(f)),
    files.join(', '),
  );
});

test('the dynamic batcher hands one execute the requests of a whole batch, each answered with its own rows', async () => {
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => probe(server.url, 'probe', 'echo', [i, i + 0.5])));
  for (const [i, result] of results.entries()) {
    assert.equal(result.status, 200, errorOf(result));
    assert.deepEqual(outputOf(result, 'Y').data, [2 * i, 2 * i + 1]);
  }
  const batchSizes = results.map((r) => Number(outputOf(r, 'BATCH').data[0]));
  assert.ok(Math.max(...batchSizes) > 1, `some execute() got several requests (saw ${batchSizes.join(',')})`);
});

test('a Python exception fails the request with the model and the exception named; the stub keeps serving', async () => {
  const before = await pidOf(server.url, 'probe');
  const raised = await probe(server.url, 'probe', 'raise');
  assert.equal(raised.status, 500);
  assert.match(errorOf(raised), /^probe\/1: ZeroDivisionError: division by zero$/);
  const invalid = await probe(server.url, 'probe', 'invalid');
  assert.equal(invalid.status, 400, 'TritonError(INVALID_ARG) is a client error');
  assert.match(errorOf(invalid), /^probe\/1: X is not acceptable$/);
  assert.equal(await pidOf(server.url, 'probe'), before, 'same process');
});

test('a stub SIGKILLed mid-request fails that request cleanly; it restarts and the next requests succeed', async () => {
  const before = await pidOf(server.url, 'probe');
  const inFlight = probe(server.url, 'probe', 'sleep');
  await waitFor(() => existsSync(join(repo, 'probe', `busy-${before}`)), 20_000, 'the request to reach the stub');
  await writeFile(join(repo, 'probe', 'slow-start'), '');
  process.kill(before, 'SIGKILL');
  const failed = await inFlight;
  assert.equal(failed.status, 503);
  assert.match(errorOf(failed), /^probe\/1: the Python stub process was killed by signal SIGKILL during the execution; it is being restarted$/);
  // While the replacement starts (its initialize() takes 2 s here), the model says it is down and why.
  assert.equal((await fetch(`${server.url}/v2/models/probe/ready`)).status, 400);
  const index = (await post(server.url, '/v2/repository/index')).json as unknown as { name: string; state: string; reason?: string }[];
  assert.deepEqual(
    index.find((m) => m.name === 'probe'),
    { name: 'probe', version: '1', state: 'UNAVAILABLE', reason: 'the Python stub process was killed by signal SIGKILL' },
  );
  assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200, 'the server and its other models carry on');
  const other = await infer(
    server.url,
    'echo',
    TYPES.map((t) => ({ name: `IN_${t}`, datatype: t, shape: t === 'BYTES' ? [3] : [1], bytes: t === 'BYTES' ? bytesTensor(['a', 'b', 'c']) : sampleBytes(t, 1) })),
    { binaryOutput: true },
  );
  assert.equal(other.status, 200, errorOf(other));
  await rm(join(repo, 'probe', 'slow-start'));
  let after = 0;
  await waitFor(
    async () => {
      const result = await probe(server.url, 'probe', 'echo');
      if (result.status === 503) {
        assert.match(errorOf(result), /probe\/1: the Python stub is restarting \(the Python stub process was killed by signal SIGKILL\)/);
        return false;
      }
      assert.equal(result.status, 200, errorOf(result));
      after = Number(outputOf(result, 'PID').data[0]);
      return true;
    },
    30_000,
    'the restarted stub to answer',
  );
  assert.notEqual(after, before);
  assert.ok(!alive(before));
  assert.equal((await fetch(`${server.url}/v2/models/probe/ready`)).status, 200);
});

test('a hung execute is bounded by the execution timeout: DEADLINE_EXCEEDED, the stub is killed and restarted', async () => {
  assert.equal((await post(server.url, '/v2/repository/models/probe_timeout/load')).status, 200);
  const before = await pidOf(server.url, 'probe_timeout');
  const started = Date.now();
  const hung = await probe(server.url, 'probe_timeout', 'hang');
  assert.equal(hung.status, 504);
  assert.match(errorOf(hung), /^probe_timeout\/1: the model execution did not finish within its execution timeout of 1500 ms/);
  assert.ok(Date.now() - started < 15_000);
  await waitFor(() => !alive(before), 10_000, 'the hung stub to be killed');
  let after = 0;
  await waitFor(
    async () => {
      const result = await probe(server.url, 'probe_timeout', 'echo');
      if (result.status !== 200) return false;
      after = Number(outputOf(result, 'PID').data[0]);
      return true;
    },
    30_000,
    'the replacement stub to answer',
  );
  assert.notEqual(after, before);
  assert.equal((await post(server.url, '/v2/repository/models/probe_timeout/unload')).status, 200);
});

test('unload ends the process (its memory returns to the OS); reload starts a fresh one running the new code', async () => {
  const pid = await pidOf(server.url, 'probe');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
  assert.ok(rssKb > 1000, `the stub holds memory (${rssKb} kB)`);
  const folders = (): number => readdirSync('/dev/shm').filter((f) => f.startsWith('cranberries-py-')).length;
  const foldersBefore = folders();
  assert.equal((await post(server.url, '/v2/repository/models/probe/unload')).status, 200);
  await waitFor(() => !alive(pid), 10_000, 'the stub to end');
  await waitFor(() => folders() === foldersBefore - 1, 10_000, "the stub's /dev/shm folder to be removed");
  assert.notEqual((await probe(server.url, 'probe', 'echo')).status, 200, 'no longer served');

  await writeFile(join(repo, 'probe', '1', 'model.py'), PROBE_PY.replace('pb_utils.Tensor("Y", x * 2)', 'pb_utils.Tensor("Y", x * 3)'));
  assert.equal((await post(server.url, '/v2/repository/models/probe/load')).status, 200);
  const result = await probe(server.url, 'probe', 'echo', [1, 2]);
  assert.deepEqual(outputOf(result, 'Y').data, [3, 6]);
  assert.notEqual(Number(outputOf(result, 'PID').data[0]), pid);
});

test('a syntax error in model.py fails the load with the error; other models keep serving', async () => {
  const load = await post(server.url, '/v2/repository/models/syntax_error/load');
  assert.equal(load.status, 400);
  assert.match(String(load.json['error']), /syntax_error\/1: model\.py failed to initialize: SyntaxError: expected ':' \(model\.py, line 2\)|SyntaxError: invalid syntax/);
  const index = (await post(server.url, '/v2/repository/index')).json as unknown as { name: string; state: string; reason: string }[];
  const entry = index.find((m) => m.name === 'syntax_error');
  assert.equal(entry?.state, 'UNAVAILABLE');
  assert.match(entry?.reason ?? '', /SyntaxError/);
  assert.equal((await probe(server.url, 'probe', 'echo')).status, 200);
});

test('a missing model.py fails the load naming the file', async () => {
  const load = await post(server.url, '/v2/repository/models/no_file/load');
  assert.equal(load.status, 400);
  assert.match(String(load.json['error']), /model file 1\/model\.py not found/);
});

test('a pickled estimator without predict_proba: inputs and outputs come from the estimator, predict only', async () => {
  assert.equal((await post(server.url, '/v2/repository/models/svc/load')).status, 200);
  const metadata = (await (await fetch(`${server.url}/v2/models/svc`)).json()) as { inputs: unknown[]; outputs: unknown[] };
  assert.deepEqual(metadata.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
  assert.deepEqual(metadata.outputs, [{ name: 'predict', datatype: 'INT64', shape: [-1, 1] }]);
  const flowers = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3];
  const result = await infer(server.url, 'svc', [{ name: 'input', datatype: 'FP32', shape: [2, 4], data: flowers }]);
  assert.equal(result.status, 200, errorOf(result));
  assert.deepEqual(outputOf(result, 'predict').data, [0, 2]);
  const proba = await infer(server.url, 'svc', [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: flowers.slice(0, 4) }], { outputs: [{ name: 'predict_proba' }] });
  assert.equal(proba.status, 400);
  assert.match(errorOf(proba), /predict_proba/);
});

test('TorchScript (pytorch_libtorch): INPUT__<i> are the arguments in index order, OUTPUT__<i> the results in order, batched', async () => {
  assert.equal((await post(server.url, '/v2/repository/models/torch_pair/load')).status, 200);
  const results = await Promise.all(
    [1, 2, 3].map((k) =>
      infer(server.url, 'torch_pair', [
        { name: 'INPUT__1', datatype: 'INT64', shape: [1, 2], data: [k, 2 * k] },
        { name: 'INPUT__0', datatype: 'INT64', shape: [1, 2], data: [5, 6] },
      ]),
    ),
  );
  results.forEach((result, i) => {
    const k = i + 1;
    assert.equal(result.status, 200, errorOf(result));
    assert.deepEqual(outputOf(result, 'OUTPUT__0').data, [50 + k, 60 + 2 * k]);
    assert.deepEqual(outputOf(result, 'OUTPUT__1').data, [(5 - k) / 2, (6 - 2 * k) / 2]);
  });
});

describe('the bundled Python examples (models/)', () => {
  let bundled: TestServer;
  before(async () => {
    bundled = await startTestServer({ modelRepository: join(ROOT, 'models'), controlMode: 'explicit', loadModels: ['iris', 'digits_torchscript', 'signal_filter'] });
  });
  after(async () => {
    await bundled?.stop();
  });

  test('iris (scikit-learn, model.joblib): the pipeline’s own answers, batched, and labels for classification', async () => {
    const body = await readFile(join(ROOT, 'examples/iris/request.json'));
    const expected = JSON.parse(await readFile(join(ROOT, 'examples/iris/request.expected.json'), 'utf8')) as { predict: number[]; predict_proba: number[][] };
    const response = await fetch(`${bundled.url}/v2/models/iris/infer`, { method: 'POST', body });
    const result = (await response.json()) as { outputs: OutputJson[] };
    assert.equal(response.status, 200, JSON.stringify(result));
    assert.deepEqual(result.outputs.find((o) => o.name === 'predict')!.data, expected.predict);
    const proba = result.outputs.find((o) => o.name === 'predict_proba')!.data as number[];
    expected.predict_proba.flat().forEach((p, i) => assert.ok(Math.abs(p - proba[i]!) < 1e-4, `probability ${i}`));
    const request = JSON.parse(body.toString()) as { inputs: { data: number[] }[] };
    const rows = request.inputs[0]!.data;
    const single = await Promise.all(
      [0, 1, 0, 1].map((row) =>
        infer(bundled.url, 'iris', [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: rows.slice(row * 4, row * 4 + 4) }], { outputs: [{ name: 'predict_proba', classification: 1 }] }),
      ),
    );
    const names = ['setosa', 'versicolor', 'virginica'];
    single.forEach((r, i) => {
      assert.equal(r.status, 200, errorOf(r));
      const top = String(outputOf(r, 'predict_proba').data[0]);
      assert.match(top, new RegExp(`^[0-9.]+:${expected.predict[i % 2]!}:${names[expected.predict[i % 2]!]!}$`));
    });
  });

  test('digits_torchscript (TorchScript, model.pt): torch’s own probabilities', async () => {
    const body = await readFile(join(ROOT, 'examples/digits_torchscript/request.json'));
    const expected = JSON.parse(await readFile(join(ROOT, 'examples/digits_torchscript/request.expected.json'), 'utf8')) as { label: number; probabilities: number[] };
    const response = await fetch(`${bundled.url}/v2/models/digits_torchscript/infer`, { method: 'POST', body });
    const result = (await response.json()) as { outputs: OutputJson[] };
    assert.equal(response.status, 200, JSON.stringify(result));
    const probabilities = result.outputs[0]!.data as number[];
    assert.equal(result.outputs[0]!.name, 'OUTPUT__0');
    expected.probabilities.forEach((p, i) => assert.ok(Math.abs(p - probabilities[i]!) < 1e-4, `class ${i}`));
    assert.equal(probabilities.indexOf(Math.max(...probabilities)), expected.label);
  });

  test('signal_filter (model.py with SciPy): the filtered signal and its dominant frequency', async () => {
    const body = await readFile(join(ROOT, 'examples/signal_filter/request.json'));
    const expected = JSON.parse(await readFile(join(ROOT, 'examples/signal_filter/request.expected.json'), 'utf8')) as { dominant_hz: number; filtered: number[] };
    const response = await fetch(`${bundled.url}/v2/models/signal_filter/infer`, { method: 'POST', body });
    const result = (await response.json()) as { outputs: OutputJson[] };
    assert.equal(response.status, 200, JSON.stringify(result));
    const filtered = result.outputs.find((o) => o.name === 'FILTERED')!.data as number[];
    assert.equal(filtered.length, expected.filtered.length);
    expected.filtered.forEach((v, i) => assert.ok(Math.abs(v - filtered[i]!) < 1e-3, `sample ${i}`));
    assert.deepEqual(result.outputs.find((o) => o.name === 'DOMINANT_HZ')!.data, [expected.dominant_hz]);
    const short = await infer(bundled.url, 'signal_filter', [{ name: 'SIGNAL', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }]);
    assert.equal(short.status, 400);
    assert.match(errorOf(short), /^signal_filter\/1: SIGNAL needs at least 16 samples per row, got 4$/);
  });
});
