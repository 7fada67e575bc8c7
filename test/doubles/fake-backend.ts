/**
 * A `Backend` test double for unit tests of the model manager and the serving core: no model
 * runtime, no threads. Every model has one input `x` and one output `y` (FP32, `[-1, 2]` rows when
 * batched, `[2]` otherwise) and answers `y = x * 10`. A test decides how each load goes: it may hold
 * a load until it releases it (`holdLoads`), make it fail (`failLoads`), and read the order in which
 * versions were loaded and unloaded (`events`).
 *
 * This double proves logic only; real loads, sessions and threads are proven by the end-to-end
 * tests against ONNX Runtime.
 */
import type { Backend, ExecutionResult, LoadedModel, LoadSpec, ModelInstance, ModelSignature } from '../../src/backends/backend.js';
import type { Tensor } from '../../src/tensors/tensor.js';

export const FAKE_BACKEND_NAME = 'fake';

/** The config text of a model served by the fake backend (`max_batch_size` 0 unless given). */
export function fakeModelConfigText(name: string, extra = ''): string {
  return `name: "${name}" backend: "${FAKE_BACKEND_NAME}" ${extra}`;
}

class Deferred {
  readonly promise: Promise<void>;
  release!: () => void;
  constructor() {
    this.promise = new Promise<void>((resolve) => (this.release = resolve));
  }
}

class TimesTenInstance implements ModelInstance {
  executions = 0;

  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    this.executions++;
    const rows = requests.map((inputs) => inputs[0]!);
    const values = rows.flatMap((t) => [...(t.data as Float32Array)]);
    const shape = rows.length === 1 ? [...rows[0]!.shape] : [rows.reduce((n, t) => n + (t.shape[0] ?? 1), 0), ...rows[0]!.shape.slice(1)];
    const data = Float32Array.from(values, (v) => v * 10);
    return Promise.resolve({ outputs: [{ name: outputNames[0] ?? 'y', datatype: 'FP32', shape, data }], timing: { computeInputNs: 1, computeInferNs: 2, computeOutputNs: 3 } });
  }
}

export class FakeBackend implements Backend {
  readonly name = FAKE_BACKEND_NAME;
  readonly platform = 'fake_platform';
  readonly defaultModelFilename = 'model.fake';
  /** `load <label>`, `loaded <label>`, `failed <label>`, `unload <label>` in the order they happened. */
  readonly events: string[] = [];
  /** Loads of these labels (`<model>/<version>`) fail with the given message. */
  readonly failLoads = new Map<string, string>();
  private readonly held = new Map<string, Deferred>();
  private readonly arrived = new Map<string, Deferred>();

  inspect(): Promise<ModelSignature> {
    return Promise.resolve(this.signature());
  }

  /** Loads of `label` wait until `release(label)`. */
  holdLoads(label: string): void {
    this.held.set(label, new Deferred());
  }

  release(label: string): void {
    this.held.get(label)?.release();
    this.held.delete(label);
  }

  /** Resolves once a load of `label` has started (immediately if one already did). */
  loadStarted(label: string): Promise<void> {
    if (this.events.includes(`load ${label}`)) return Promise.resolve();
    let arrived = this.arrived.get(label);
    if (!arrived) this.arrived.set(label, (arrived = new Deferred()));
    return arrived.promise;
  }

  /** Versions currently loaded (loaded and not unloaded), by label. */
  loaded(): string[] {
    const live = new Map<string, number>();
    for (const event of this.events) {
      const [kind, label] = event.split(' ') as [string, string];
      if (kind === 'loaded') live.set(label, (live.get(label) ?? 0) + 1);
      if (kind === 'unload') live.set(label, (live.get(label) ?? 0) - 1);
    }
    return [...live]
      .filter(([, n]) => n > 0)
      .map(([label]) => label)
      .sort();
  }

  async load(spec: LoadSpec): Promise<LoadedModel> {
    const { label } = spec;
    this.events.push(`load ${label}`);
    this.arrived.get(label)?.release();
    this.arrived.delete(label);
    await this.held.get(label)?.promise;
    const failure = this.failLoads.get(label);
    if (failure !== undefined) {
      this.events.push(`failed ${label}`);
      throw new Error(failure);
    }
    this.events.push(`loaded ${label}`);
    const count = Math.max(
      1,
      spec.config.instance_group.reduce((sum, g) => sum + g.count, 0),
    );
    const batched = spec.config.max_batch_size > 0;
    return {
      signature: this.signature(batched),
      instances: Array.from({ length: count }, () => new TimesTenInstance()),
      unload: () => {
        this.events.push(`unload ${label}`);
        return Promise.resolve();
      },
    };
  }

  private signature(batched = false): ModelSignature {
    const shape = batched ? [-1, 2] : [2];
    return { inputs: [{ name: 'x', datatype: 'FP32', shape }], outputs: [{ name: 'y', datatype: 'FP32', shape }] };
  }
}
