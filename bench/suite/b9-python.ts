/**
 * B9, the Python backend: what crossing the process boundary costs. Each runtime is loaded
 * through `PythonBackend` itself (no HTTP in the way) and the same call is timed inside one Python
 * process (the model's own `execute` / `predict` / module call in a loop), so the difference is the
 * stub transport: framing, two pipe hops, NumPy views. Also MB/s for a large tensor echoed through
 * the pipe and through /dev/shm files.
 */
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PYTHON_PACKAGE_ROOT, PythonBackend } from '../../src/backends/python/python-backend.js';
import type { ModelInstance } from '../../src/backends/backend.js';
import { parseModelConfig } from '../../src/repository/config-parser.js';
import type { Tensor } from '../../src/tensors/tensor.js';
import { restTarget, type SuiteContext } from './context.js';
import { ROOT, ServerProcess } from './server-process.js';

export interface B9CallRow {
  readonly runtime: string;
  readonly servedMicros: number;
  readonly inProcessMicros: number;
  readonly overheadMicros: number;
}
export interface B9ThroughputRow {
  readonly path: 'pipe' | 'shm';
  readonly megabytes: number;
  readonly megabytesPerSecond: number;
}
/** One model over OIP REST (binary) through a real server process. */
export interface B9RestRow {
  readonly model: string;
  readonly kind: string;
  /** Sequential requests (concurrency 1): median latency. */
  readonly p50Ms: number;
  /** Concurrency 16, dynamic batching on and off (inferences/s); undefined when not measured. */
  readonly batchedPerSecond?: number;
  readonly unbatchedPerSecond?: number;
}
export interface B9Result {
  readonly calls: B9CallRow[];
  readonly throughput: B9ThroughputRow[];
  rest?: B9RestRow[];
}

const ECHO_PY = `
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def execute(self, requests):
        return [pb_utils.InferenceResponse([pb_utils.Tensor("Y", pb_utils.get_input_tensor_by_name(r, "X").as_numpy())]) for r in requests]
`;
const ECHO_CONFIG = 'name: "echo"\nbackend: "python"\nmax_batch_size: 64\ninput [ { name: "X" data_type: TYPE_FP32 dims: [ -1 ] } ]\noutput [ { name: "Y" data_type: TYPE_FP32 dims: [ -1 ] } ]\n';

/** Median µs of `count` sequential executions after a warm-up. */
async function timeCalls(instance: ModelInstance, inputs: Tensor[], outputs: string[], count: number): Promise<number> {
  for (let i = 0; i < 20; i++) await instance.execute([inputs], outputs);
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint();
    await instance.execute([inputs], outputs);
    samples.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
}

/** Median µs of the same call made inside Python (`setup` defines `call()`). */
function timeInPython(setup: string, count: number): number {
  const script = `${setup}
import time
for _ in range(20): call()
samples = []
for _ in range(${count}):
    t0 = time.perf_counter_ns(); call(); samples.append((time.perf_counter_ns() - t0) / 1000)
samples.sort(); print(samples[len(samples) // 2])
`;
  return Number(
    execFileSync('/usr/bin/python3', ['-c', script], { env: { ...process.env, PYTHONPATH: PYTHON_PACKAGE_ROOT, OMP_NUM_THREADS: '1' } })
      .toString()
      .trim(),
  );
}

export async function runB9(ctx: SuiteContext): Promise<B9Result> {
  const dir = join(ctx.reposDir, 'b9-echo');
  await mkdir(join(dir, '1'), { recursive: true });
  await writeFile(join(dir, '1', 'model.py'), ECHO_PY);
  const count = ctx.quick ? 300 : 2000;
  const calls: B9CallRow[] = [];
  const throughput: B9ThroughputRow[] = [];
  const row = (runtime: string, served: number, inProcess: number): void => {
    calls.push({ runtime, servedMicros: served, inProcessMicros: inProcess, overheadMicros: served - inProcess });
    ctx.log(`B9 ${runtime}: ${served.toFixed(0)} µs per call served, ${inProcess.toFixed(0)} µs in-process`);
  };

  const family = PythonBackend.family();
  const load = async (backend: PythonBackend, modelPath: string, configText: string, name: string) =>
    backend.load({ label: `${name}/1`, modelPath, config: parseModelConfig(configText, name), intraOpThreads: 1 });

  // model.py identity on FP32 [1,4].
  const echo = await load(family[0]!, join(dir, '1', 'model.py'), ECHO_CONFIG, 'echo');
  try {
    const tiny: Tensor = { name: 'X', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) };
    row(
      'model.py (identity, FP32 [1,4])',
      await timeCalls(echo.instances[0]!, [tiny], ['Y'], count),
      timeInPython(
        `import sys, numpy as np\nsys.path.insert(0, ${JSON.stringify(join(dir, '1'))})\nimport triton_python_backend_utils as pb_utils\nfrom model import TritonPythonModel\nm = TritonPythonModel()\nx = np.arange(4, dtype=np.float32).reshape(1, 4)\ndef call(): m.execute([pb_utils.InferenceRequest([pb_utils.Tensor("X", x)], requested_output_names=["Y"])])`,
        count,
      ),
    );
    for (const path of ['pipe', 'shm'] as const) {
      const bytes = 16 * 1024 * 1024;
      const backend = PythonBackend.family({ fileThreshold: path === 'shm' ? 1024 * 1024 : 2 ** 31 })[0]!;
      const big = await load(backend, join(dir, '1', 'model.py'), ECHO_CONFIG, 'echo');
      try {
        const tensor: Tensor = { name: 'X', datatype: 'FP32', shape: [1, bytes / 4], data: new Float32Array(bytes / 4).fill(1.5) };
        const micros = await timeCalls(big.instances[0]!, [tensor], ['Y'], ctx.quick ? 10 : 40);
        ctx.log(`B9 16 MiB echo through ${path}: ${(micros / 1000).toFixed(1)} ms per round trip`);
        // Bytes moved each way per second: the tensor goes in and comes back.
        throughput.push({ path, megabytes: bytes / 1e6, megabytesPerSecond: (2 * bytes) / 1e6 / (micros / 1e6) });
      } finally {
        await big.unload();
      }
    }
  } finally {
    await echo.unload();
  }

  const iris = await load(family[1]!, join(ROOT, 'models/iris/1/model.joblib'), 'name: "iris"\nbackend: "sklearn"\n', 'iris');
  try {
    const flower: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) };
    row(
      'scikit-learn (iris pipeline, predict + predict_proba, 1 row)',
      await timeCalls(iris.instances[0]!, [flower], ['predict', 'predict_proba'], count),
      timeInPython(
        `import joblib, numpy as np\np = joblib.load(${JSON.stringify(join(ROOT, 'models/iris/1/model.joblib'))})\nx = np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32)\ndef call(): p.predict(x); p.predict_proba(x)`,
        count,
      ),
    );
  } finally {
    await iris.unload();
  }

  const configText = `name: "t"\nplatform: "pytorch_libtorch"\nmax_batch_size: 64\ninput [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 64 ] } ]\noutput [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 10 ] } ]\n`;
  const torch = await load(family[2]!, join(ROOT, 'models/digits_torchscript/1/model.pt'), configText, 't');
  try {
    const image: Tensor = { name: 'INPUT__0', datatype: 'FP32', shape: [1, 64], data: new Float32Array(64).fill(3) };
    row(
      'TorchScript (digits MLP, 1 row)',
      await timeCalls(torch.instances[0]!, [image], ['OUTPUT__0'], count),
      timeInPython(
        `import torch, numpy as np\ntorch.set_num_threads(1)\nm = torch.jit.load(${JSON.stringify(join(ROOT, 'models/digits_torchscript/1/model.pt'))})\nx = np.full((1, 64), 3, dtype=np.float32)\ndef call():\n    with torch.inference_mode(): m(torch.from_numpy(x)).numpy()`,
        count,
      ),
    );
  } finally {
    await torch.unload();
  }
  return { calls, throughput, rest: await restRows(ctx) };
}

/**
 * The bundled models of each backend over REST through one server process: sequential latency
 * (each backend runs its own bundled example, not the same work), and
 * inferences/s at concurrency 16 with dynamic batching on and off for the scikit-learn and
 * TorchScript examples (copies of them without `dynamic_batching`).
 */
async function restRows(ctx: SuiteContext): Promise<B9RestRow[]> {
  const repo = join(ctx.reposDir, 'b9-rest');
  await rm(repo, { recursive: true, force: true });
  for (const model of ['digits', 'iris', 'digits_torchscript']) await cp(join(ROOT, 'models', model), join(repo, model), { recursive: true });
  for (const model of ['iris', 'digits_torchscript']) {
    await cp(join(ROOT, 'models', model), join(repo, `${model}_unbatched`), { recursive: true });
    const config = await readFile(join(repo, model, 'config.pbtxt'), 'utf8');
    await writeFile(join(repo, `${model}_unbatched`, 'config.pbtxt'), config.replace(`name: "${model}"`, `name: "${model}_unbatched"`).replace(/dynamic_batching \{[^}]*\}/, ''));
  }
  const server = await ServerProcess.start({ repository: repo, startTimeoutMs: 180_000 });
  const rows: B9RestRow[] = [];
  const measure = async (model: string, concurrency: number): Promise<{ p50Ms: number; perSecond: number }> => {
    const target = await restTarget(server.httpUrl, model, { binary: true, connections: concurrency });
    try {
      const result = await target.run(concurrency, ctx.secs(2), ctx.secs(8));
      return { p50Ms: result.latency.p50Ms, perSecond: result.inferencesPerSecond };
    } finally {
      await target.close();
    }
  };
  try {
    for (const [model, kind] of [
      ['digits', 'ONNX Runtime (CNN)'],
      ['iris', 'scikit-learn (model.joblib)'],
      ['digits_torchscript', 'TorchScript (model.pt)'],
    ] as const) {
      const sequential = await measure(model, 1);
      const batched = model === 'iris' || model === 'digits_torchscript' ? await measure(model, 16) : undefined;
      const unbatched = batched ? await measure(`${model}_unbatched`, 16) : undefined;
      rows.push({ model, kind, p50Ms: sequential.p50Ms, ...(batched ? { batchedPerSecond: batched.perSecond } : {}), ...(unbatched ? { unbatchedPerSecond: unbatched.perSecond } : {}) });
      ctx.log(
        `B9 REST ${model}: p50 ${sequential.p50Ms.toFixed(2)} ms at c1${batched && unbatched ? `; c16 ${batched.perSecond.toFixed(0)} inf/s batched vs ${unbatched.perSecond.toFixed(0)} unbatched` : ''}`,
      );
    }
  } finally {
    await server.stop();
  }
  return rows;
}
