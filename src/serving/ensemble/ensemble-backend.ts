/**
 * Ensembles (`platform: "ensemble"`): a DAG of models run inside the server. Each step is an
 * ordinary inference call of the step model through the serving core, so it is queued and batched
 * by that model's own scheduler and counted in that model's statistics; tensors pass from step to
 * step as in-process tensors, never re-encoded. The ensemble's own statistics count the ensemble's
 * requests (one execution each, compute time = the whole DAG).
 *
 * Load rule: the ensemble is READY as soon as its plan checks out against the step models' configs
 * in the repository (`ensemble-plan.ts`); it does not wait for the step models. It reports
 * UNAVAILABLE (readiness false, the reason naming the step) while any step model has no READY
 * version, so its readiness is that of all its steps. A step model not served yet is asked to load
 * (explicit model control: loading an ensemble loads its steps).
 */
import { CranberriesError, asCranberriesError, clip } from '../../core/index.js';
import type { Backend, LoadedModel, ModelInstance, ModelSignature, TensorSignature } from '../../backends/index.js';
import type { ModelConfig, ModelInput, ModelOutput } from '../../repository/index.js';
import { dataTypeFromConfig, type Tensor } from '../../tensors/index.js';
import type { InferenceRequest, InferenceResponse } from '../inference.js';
import { ensembleSteps, planEnsemble, type EnsemblePlan, type EnsembleStep } from './ensemble-plan.js';

/** What an ensemble needs of the server it runs in (bound once the serving core exists). */
export interface EnsembleHost {
  infer(request: InferenceRequest): Promise<InferenceResponse>;
  /** A model's config: as served when READY, else as the repository declares it; undefined: unknown. */
  stepConfig(model: string): Promise<ModelConfig | undefined>;
  /** Whether the model (the given version, or any) has a READY version. */
  stepReady(model: string, version: number | undefined): boolean;
  /** Asks for a model that is not served to be loaded; never throws. */
  loadStep(model: string): void;
}

/** Ensemble requests that run at once per ensemble version; more wait in its queue. */
export const ENSEMBLE_CONCURRENCY = 256;

export class EnsembleBackend implements Backend {
  readonly name = '';
  readonly platform = 'ensemble';
  /** An ensemble has no model file; its version folder (`1/`) may be empty, as in Triton. */
  readonly defaultModelFilename = '(ensemble)';
  readonly needsModelFile = false;
  private host: EnsembleHost | undefined;

  /** Binds the server the ensembles run in. */
  attach(host: EnsembleHost): void {
    this.host = host;
  }

  inspect(): Promise<ModelSignature> {
    return Promise.resolve({ inputs: [], outputs: [] });
  }

  async load(spec: { readonly config: ModelConfig }): Promise<LoadedModel> {
    const host = this.host;
    if (!host) throw new CranberriesError('UNAVAILABLE', 'ensembles are not available in this server');
    const config = spec.config;
    const configs = new Map<string, ModelConfig | undefined>();
    for (const step of ensembleSteps(config)) {
      if (step.model_name && !configs.has(step.model_name)) configs.set(step.model_name, await host.stepConfig(step.model_name));
    }
    const plan = planEnsemble(config, (model) => configs.get(model));
    await refuseNestedCycle(config.name, configs, host);
    for (const [model, known] of configs) if (known) host.loadStep(model);
    const signature = signatureOf(config);
    const runner = new EnsembleRunner(plan, host);
    return {
      signature,
      instances: new Array<ModelInstance>(ENSEMBLE_CONCURRENCY).fill(runner),
      unload: () => Promise.resolve(),
      unavailableReason: () => {
        const down = plan.steps.find((s) => !host.stepReady(s.model, s.version));
        return down ? `ensemble '${plan.name}' step ${down.number}: model '${down.model}'${down.version ? ` version ${down.version}` : ''} is not ready` : undefined;
      },
    };
  }
}

/** Runs one ensemble request: every step as soon as the tensors it reads exist. */
class EnsembleRunner implements ModelInstance {
  constructor(
    private readonly plan: EnsemblePlan,
    private readonly host: EnsembleHost,
  ) {}

  async execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]) {
    const started = process.hrtime.bigint();
    const outputs: Tensor[] = [];
    // Requests arrive one at a time (an ensemble never batches), but the contract allows more.
    for (const inputs of requests) outputs.push(...(await this.run(inputs, outputNames)));
    return { outputs, timing: { computeInputNs: 0, computeInferNs: Number(process.hrtime.bigint() - started), computeOutputNs: 0 } };
  }

  private async run(inputs: readonly Tensor[], outputNames: readonly string[]): Promise<Tensor[]> {
    const tensors = new Map<string, Promise<Tensor>>();
    for (const input of inputs) tensors.set(input.name, Promise.resolve(input));
    const writers = new Map<string, (tensor: Tensor) => void>();
    const failures: Promise<never>[] = [];
    for (const step of this.plan.steps) {
      for (const [, tensor] of step.outputs) tensors.set(tensor, new Promise<Tensor>((resolve) => writers.set(tensor, resolve)));
    }
    // Steps start in dependency order; each awaits only the tensors it reads.
    for (const step of this.plan.steps) {
      const done = this.runStep(step, tensors).then((produced) => {
        for (const [output, tensor] of step.outputs) writers.get(tensor)!(produced.get(output)!);
      });
      failures.push(done.then(() => new Promise<never>(() => {})));
    }
    const wanted = Promise.all(outputNames.map(async (name) => ({ ...(await tensors.get(name)!), name })));
    // Steps still running after a failure end on their own; only the first failure answers.
    for (const failure of failures) failure.catch(() => undefined);
    wanted.catch(() => undefined);
    return Promise.race([wanted, ...failures]);
  }

  private async runStep(step: EnsembleStep, tensors: ReadonlyMap<string, Promise<Tensor>>): Promise<Map<string, Tensor>> {
    const inputs = await Promise.all(
      step.inputs.map(async ([input, tensor]) => {
        const value = await tensors.get(tensor)!;
        // A tensor read more than once goes to each step as a copy: a step's backend may move
        // the buffer to its own thread, which would empty it for the other readers.
        const shared = (this.plan.readers.get(tensor) ?? 0) > 1;
        const data = shared && !Array.isArray(value.data) ? value.data.slice() : value.data;
        return { name: input, datatype: value.datatype, shape: value.shape, data };
      }),
    );
    try {
      const response = await this.host.infer({ model: step.model, version: step.version, inputs, outputs: step.outputs.map(([name]) => ({ name })) });
      const produced = new Map<string, Tensor>();
      for (const output of response.outputs) produced.set(output.name, output);
      for (const [output] of step.outputs) {
        if (!produced.has(output)) throw new CranberriesError('INTERNAL', `the model returned no output '${output}'`);
      }
      return produced;
    } catch (error) {
      const failure = asCranberriesError(error);
      throw new CranberriesError(failure.code, `ensemble '${this.plan.name}' step ${step.number} (model '${step.model}'): ${clip(failure.message, 2000)}`);
    }
  }
}

/**
 * Ensembles may nest (a step that is an ensemble), but never back into themselves: a request would
 * call itself without end. Follows nested ensembles' steps (at most 16 deep) from the repository.
 */
async function refuseNestedCycle(name: string, steps: ReadonlyMap<string, ModelConfig | undefined>, host: EnsembleHost): Promise<void> {
  const seen = new Set<string>();
  const visit = async (configs: ReadonlyMap<string, ModelConfig | undefined>, path: readonly string[]): Promise<void> => {
    for (const [model, config] of configs) {
      if (!config || config.platform !== 'ensemble') continue;
      const through = [...path, model];
      const inner = ensembleSteps(config).map((s) => s.model_name);
      if (inner.includes(name)) {
        throw new CranberriesError('INVALID_ARGUMENT', `ensemble '${name}': its steps lead back to it (${[name, ...through, name].map((m) => `'${m}'`).join(' → ')})`);
      }
      if (seen.has(model) || through.length >= 16) continue;
      seen.add(model);
      const next = new Map<string, ModelConfig | undefined>();
      for (const step of inner) if (step && !next.has(step)) next.set(step, await host.stepConfig(step));
      await visit(next, through);
    }
  };
  await visit(steps, []);
}

function signatureOf(config: ModelConfig): ModelSignature {
  const batch = config.max_batch_size > 0 ? [-1] : [];
  const convert = (tensors: readonly (ModelInput | ModelOutput)[], kind: string): TensorSignature[] =>
    tensors.map((t) => {
      const datatype = dataTypeFromConfig(t.data_type);
      if (!datatype) throw new CranberriesError('INVALID_ARGUMENT', `ensemble '${config.name}': ${kind} '${t.name}' needs a data_type`);
      return { name: t.name, datatype, shape: [...batch, ...(t.reshape ? t.reshape.shape : t.dims)] };
    });
  if (config.input.length === 0 || config.output.length === 0) throw new CranberriesError('INVALID_ARGUMENT', `ensemble '${config.name}': declare its inputs and outputs in config.pbtxt`);
  return { inputs: convert(config.input, 'input'), outputs: convert(config.output, 'output') };
}
