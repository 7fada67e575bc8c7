import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { PythonBackend } from './python-backend.js';
import type { ModelConfig } from '../../repository/model-config.js';
import { parseModelConfig } from '../../repository/config-parser.js';

function memoryLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const MODEL_PY = `
import sys
import numpy as np
import triton_python_backend_utils as pb_utils

class TritonPythonModel:
    def initialize(self, args):
        print("hello from", args["model_name"])
        print("a warning", file=sys.stderr)

    def execute(self, requests):
        return [pb_utils.InferenceResponse([pb_utils.Tensor("Y", pb_utils.get_input_tensor_by_name(r, "X").as_numpy() + 1)]) for r in requests]

    def finalize(self):
        print("finalized")
`;

test("the stub's stdout and stderr reach the server log with the model; unload runs finalize() and ends the process", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-stub-'));
  try {
    await mkdir(join(dir, '1'));
    await writeFile(join(dir, '1', 'model.py'), MODEL_PY);
    const config: ModelConfig = parseModelConfig(
      'name: "m"\nbackend: "python"\nmax_batch_size: 4\ninput [ { name: "X" data_type: TYPE_INT32 dims: [ 1 ] } ]\noutput [ { name: "Y" data_type: TYPE_INT32 dims: [ 1 ] } ]\n',
      'm',
    );
    const { logger, lines } = memoryLogger();
    const backend = PythonBackend.family({ logger })[0]!;
    const loaded = await backend.load({ label: 'm/1', modelPath: join(dir, '1', 'model.py'), config, intraOpThreads: 1 });
    assert.deepEqual(loaded.signature.inputs, [{ name: 'X', datatype: 'INT32', shape: [-1, 1] }]);
    const result = await loaded.instances[0]!.execute(
      [[{ name: 'X', datatype: 'INT32', shape: [2, 1], data: new Int32Array([1, 2]) }], [{ name: 'X', datatype: 'INT32', shape: [1, 1], data: new Int32Array([7]) }]],
      ['Y'],
    );
    assert.deepEqual(result.outputs, [{ name: 'Y', datatype: 'INT32', shape: [3, 1], data: new Int32Array([2, 3, 8]) }]);
    const pid = loaded.instances[0]!.pid!;
    await loaded.unload();
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the process is gone');
    const said = lines.filter((l) => l['model'] === 'm/1').map((l) => [l['stream'], l['msg']]);
    assert.deepEqual(said, [
      ['stdout', 'hello from m'],
      ['stderr', 'a warning'],
      ['stdout', 'finalized'],
    ]);
    assert.ok(!existsSync(join(dir, '1', '__pycache__')), 'no bytecode written next to the model');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without scikit-learn installed, a model.joblib fails to load UNAVAILABLE, naming the Debian package', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-nosk-'));
  const saved = process.env['PYTHONPATH'];
  try {
    // A module that shadows sklearn the way a missing package looks to Python.
    await writeFile(join(dir, 'sklearn.py'), 'raise ModuleNotFoundError("No module named \'sklearn\'")\n');
    await mkdir(join(dir, '1'));
    await writeFile(join(dir, '1', 'model.joblib'), 'never unpickled');
    process.env['PYTHONPATH'] = dir;
    const sklearn = PythonBackend.family()[1]!;
    const config = parseModelConfig('name: "m"\nbackend: "sklearn"\n', 'm');
    await assert.rejects(sklearn.load({ label: 'm/1', modelPath: join(dir, '1', 'model.joblib'), config, intraOpThreads: 1 }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'UNAVAILABLE');
      assert.match(
        error.message,
        /^m\/1: model\.joblib failed to initialize: scikit-learn is not installed for \/usr\/bin\/python3 \(Debian package python3-sklearn: apt-get install python3-sklearn\)/,
      );
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env['PYTHONPATH'];
    else process.env['PYTHONPATH'] = saved;
    await rm(dir, { recursive: true, force: true });
  }
});
