/**
 * The shape of the work `runModelWarmup` hands to instances (recording instances stand in for
 * ONNX Runtime here; test/e2e/model-warmup.test.ts runs real sessions).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutionResult, ModelInstance } from '../backends/backend.js';
import type { ModelConfig, ModelWarmup } from '../repository/model-config.js';
import type { Tensor } from '../tensors/tensor.js';
import { MAX_WARMUP_SAMPLE_BYTES, runModelWarmup } from './model-warmup.js';

class RecordingInstance implements ModelInstance {
  readonly runs: (readonly (readonly Tensor[])[])[] = [];
  constructor(private readonly failOnRun?: number) {}
  execute(requests: readonly (readonly Tensor[])[]): Promise<ExecutionResult> {
    this.runs.push(requests);
    if (this.failOnRun === this.runs.length) return Promise.reject(new Error('m/1: onnxruntime: boom'));
    return Promise.resolve({ outputs: [], timing: { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 } });
  }
}

function configWith(warmup: ModelWarmup[], maxBatchSize = 8): ModelConfig {
  return {
    name: 'm',
    max_batch_size: maxBatchSize,
    input: [
      { name: 'x', data_type: 'TYPE_FP32', dims: [2, 3] },
      { name: 'flag', data_type: 'TYPE_BOOL', dims: [4] },
      { name: 's', data_type: 'TYPE_STRING', dims: [-1] },
    ],
    output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [1] }],
    model_warmup: warmup,
  } as unknown as ModelConfig;
}

describe('model warm-up', () => {
  it('runs batch_size one-row requests per execution, count times (at least once), on every instance', async () => {
    const instances = [new RecordingInstance(), new RecordingInstance()];
    const report = await runModelWarmup(
      configWith([
        {
          name: 'a',
          batch_size: 3,
          count: 2,
          inputs: {
            x: { data_type: 'TYPE_FP32', dims: [2, 3], zero_data: true },
            flag: { data_type: 'TYPE_BOOL', dims: [4], random_data: true },
            s: { data_type: 'TYPE_STRING', dims: [2], random_data: true },
          },
        },
        { name: 'b', batch_size: 1, count: 0, inputs: { x: { data_type: 'TYPE_FP32', dims: [2, 3], random_data: true } } },
      ]),
      instances,
      undefined,
    );
    assert.deepEqual({ ...report, milliseconds: 0 }, { samples: 2, executions: 6, instances: 2, milliseconds: 0 });
    for (const instance of instances) {
      assert.deepEqual(
        instance.runs.map((r) => r.length),
        [3, 3, 1],
      );
      const [x, flag, s] = instance.runs[0]![0]!;
      assert.deepEqual(x!.shape, [1, 2, 3]);
      assert.deepEqual([...(x!.data as Float32Array)], [0, 0, 0, 0, 0, 0]);
      assert.ok(
        [...(flag!.data as Uint8Array)].every((b) => b === 0 || b === 1),
        'BOOL random data is 0 or 1',
      );
      assert.deepEqual(s!.data, [new Uint8Array(0), new Uint8Array(0)], 'BYTES random data is empty strings, as Triton sends');
      // Every request gets buffers of its own: instances may take (transfer) them.
      assert.notEqual(instance.runs[0]![0]![0]!.data, instance.runs[0]![1]![0]!.data);
    }
  });

  it('does nothing without samples, and has no batch dimension for a model that does not batch', async () => {
    assert.equal(await runModelWarmup(configWith([]), [new RecordingInstance()], undefined), undefined);
    const instance = new RecordingInstance();
    await runModelWarmup(configWith([{ name: 'n', batch_size: 1, count: 1, inputs: { x: { data_type: 'TYPE_FP32', dims: [2, 3], zero_data: true } } }], 0), [instance], undefined);
    assert.deepEqual(instance.runs[0]![0]![0]!.shape, [2, 3]);
  });

  it('names the sample, instance and iteration of a failure; refuses oversized samples before allocating', async () => {
    const config = configWith([{ name: 'w', batch_size: 1, count: 3, inputs: { x: { data_type: 'TYPE_FP32', dims: [2, 3], zero_data: true } } }]);
    await assert.rejects(runModelWarmup(config, [new RecordingInstance(2)], undefined), {
      code: 'INVALID_ARGUMENT',
      message: "model_warmup 'w': the warm-up failed on instance 1 of 1, iteration 2: m/1: onnxruntime: boom",
    });
    const huge = configWith([{ name: 'big', batch_size: 8, count: 1, inputs: { x: { data_type: 'TYPE_FP32', dims: [MAX_WARMUP_SAMPLE_BYTES / 16, 1], zero_data: true } } }]);
    await assert.rejects(runModelWarmup(huge, [new RecordingInstance()], undefined), { code: 'INVALID_ARGUMENT', message: /model_warmup 'big': the sample's inputs need more than 268435456 bytes/ });
    const file = configWith([{ name: 'f', batch_size: 1, count: 1, inputs: { x: { data_type: 'TYPE_FP32', dims: [2, 3], input_data_file: 'x.bin' } } }]);
    await assert.rejects(runModelWarmup(file, [new RecordingInstance()], undefined), { message: /input_data_file "warmup\/x\.bin" cannot be read: the model has no folder/ });
  });
});
