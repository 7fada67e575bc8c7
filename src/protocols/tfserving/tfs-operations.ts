/**
 * The TF Serving API's operations — status, metadata, predict, classify, regress, labels, model
 * list reloads — on the InferenceService façade, independent of REST or gRPC. Both adapters decode
 * their wire form, call these and encode the answer, so the two APIs behave the same by
 * construction.
 *
 * Version selection (TF Serving's): a version number, a version label, or neither (the latest
 * READY version). The version is pinned once per request, so the metadata a request was decoded
 * against and the version that runs it are the same even while a newer version arrives.
 *
 * Without `TfServingExtensions` on the service (e.g. a gateway), labels and reloads are
 * UNIMPLEMENTED and status reports the READY versions the metadata lists.
 *
 * A predict, classify or regress request that fails before it reaches `infer` (an unknown label or
 * signature, inputs that do not fit the metadata) is reported with `recordRejected`, so it shows in
 * the model's failure counter like an OIP request that could not be decoded.
 */
import { CranberriesError, invalidArgument } from '../../core/index.js';
import type { ModelConfigListEntry, ModelConfig } from '../../repository/index.js';
import type { InferenceService, ModelMetadata, RequestContext, TfServingExtensions, VersionStatus, RequestedOutput } from '../../serving/index.js';
import type { Tensor } from '../../tensors/index.js';
import { classificationsOf, examplesToInputs, regressionsOf, type ClassScore } from './example-tensors.js';
import type { Example } from './examples.js';
import { checkSignature, classifyFit, regressFit, type Fit, type Method } from './signatures.js';
import { tfShapeView, type TfShapeView } from './tf-shape-view.js';

/** Which model version a request addresses: a number, a label, or neither (latest). */
export interface ModelRef {
  readonly model: string;
  readonly version?: number | undefined;
  readonly label?: string | undefined;
}

export interface PredictResult {
  readonly version: number;
  readonly signature: string;
  readonly outputs: readonly Tensor[];
}

export interface ClassifyResult {
  readonly version: number;
  readonly signature: string;
  /** Per example, `[label, score]` per class. */
  readonly results: ClassScore[][];
}

export interface RegressResult {
  readonly version: number;
  readonly signature: string;
  readonly results: number[];
}

/** The extensions of `service`, when it implements them. */
export function tfServingExtensionsOf(service: InferenceService): TfServingExtensions | undefined {
  const candidate = service as InferenceService & Partial<TfServingExtensions>;
  return typeof candidate.resolveVersionLabel === 'function' && typeof candidate.modelVersionStatus === 'function' ? (candidate as InferenceService & TfServingExtensions) : undefined;
}

export class TfServingOperations {
  private readonly extensions: TfServingExtensions | undefined;

  constructor(readonly service: InferenceService) {
    this.extensions = tfServingExtensionsOf(service);
  }

  /** The version a ref names: its number, its label's version, or undefined (latest). */
  version(ref: ModelRef): number | undefined {
    if (ref.label === undefined) return ref.version;
    return this.requireExtensions('version labels').resolveVersionLabel(ref.model, ref.label);
  }

  status(ref: ModelRef): readonly VersionStatus[] {
    const version = this.version(ref);
    if (this.extensions) return this.extensions.modelVersionStatus(ref.model, version);
    return this.service.modelMetadata(ref.model, version).versions.map((v) => ({ version: Number(v), state: 'READY' }));
  }

  /**
   * The metadata of the addressed version (with TF Serving's shapes, `tf-shape-view.ts`) and its
   * number (the latest READY one when none is named), and the view that converts its tensors.
   */
  metadata(ref: ModelRef): { version: number; metadata: ModelMetadata; view: TfShapeView } {
    const requested = this.version(ref);
    const apiMetadata = this.service.modelMetadata(ref.model, requested);
    const version = requested ?? Math.max(...apiMetadata.versions.map(Number));
    const view = tfShapeView(apiMetadata, this.configOf(ref.model, version));
    return { version, metadata: view.metadata, view };
  }

  /**
   * Runs a predict request; `inputs` decodes the request's tensors against the version's metadata.
   * `outputFilter` names the outputs to return (empty or undefined: all).
   */
  async predict(ref: ModelRef, signatureName: string, inputs: (metadata: ModelMetadata) => Tensor[], outputFilter: readonly string[] | undefined, context: RequestContext): Promise<PredictResult> {
    const { request, signature, view } = this.beforeInfer(ref, context, () => {
      const { version, metadata, view } = this.metadata(ref);
      const signature = checkSignature(signatureName, 'predict', metadata);
      const outputs = outputFilter && outputFilter.length > 0 ? requestedOutputs(outputFilter, metadata) : undefined;
      return { signature, view, request: { model: ref.model, version, inputs: view.toApi(inputs(metadata)), outputs } };
    });
    const response = await this.service.infer(request, context);
    return { version: response.version, signature, outputs: view.toTf(response.outputs) };
  }

  async classify(ref: ModelRef, signatureName: string, examples: readonly Example[], context: RequestContext): Promise<ClassifyResult> {
    const { version, signature, output } = this.prepareExamples(ref, signatureName, 'classify', examples, context);
    const scores = await this.runExamples(ref.model, version, output, context);
    const labels = this.extensions?.outputLabels(ref.model, scores.version, output.name);
    return { version: scores.version, signature, results: classificationsOf(scores.tensor, examples.length, labels) };
  }

  async regress(ref: ModelRef, signatureName: string, examples: readonly Example[], context: RequestContext): Promise<RegressResult> {
    const { version, signature, output } = this.prepareExamples(ref, signatureName, 'regress', examples, context);
    const values = await this.runExamples(ref.model, version, output, context);
    return { version: values.version, signature, results: regressionsOf(values.tensor, examples.length) };
  }

  labels(model: string): Readonly<Record<string, number>> {
    return this.requireExtensions('version labels').versionLabels(model);
  }

  updateLabels(model: string, changes: Readonly<Record<string, number | null>>): Readonly<Record<string, number>> {
    return this.requireExtensions('version labels').updateVersionLabels(model, changes);
  }

  reload(models: readonly ModelConfigListEntry[]): Promise<void> {
    if (!this.extensions) {
      // A service with no models of its own (the gateway answers this call before it gets here).
      throw new CranberriesError('UNIMPLEMENTED', 'HandleReloadConfigRequest is not supported by this server: it manages no models of its own');
    }
    return this.extensions.reloadModelConfigList(models);
  }

  private prepareExamples(
    ref: ModelRef,
    signatureName: string,
    method: Exclude<Method, 'predict'>,
    examples: readonly Example[],
    context: RequestContext,
  ): { version: number; signature: string; output: FitOutput } {
    return this.beforeInfer(ref, context, () => {
      const { version, metadata, view } = this.metadata(ref);
      const signature = checkSignature(signatureName, method, metadata);
      const fit: Fit = method === 'classify' ? classifyFit(metadata) : regressFit(metadata);
      if (!fit.ok) throw invalidArgument(fit.reason);
      return { version, signature, output: { name: fit.output.name, inputs: view.toApi(examplesToInputs(examples, metadata.inputs, ref.model)) } };
    });
  }

  /**
   * Runs the part of a request that comes before `infer`; a failure there is counted against the
   * model (`infer` never saw it) and thrown on, for the version named (by number or label) if any.
   */
  private beforeInfer<T>(ref: ModelRef, context: RequestContext, prepare: () => T): T {
    try {
      return prepare();
    } catch (error) {
      this.service.recordRejected?.(ref.model, this.versionIfKnown(ref), error, context.requestId);
      throw error;
    }
  }

  private versionIfKnown(ref: ModelRef): number | undefined {
    try {
      return this.version(ref);
    } catch {
      return undefined; // an unknown label: counted against the default version
    }
  }

  private async runExamples(model: string, version: number, output: FitOutput, context: RequestContext): Promise<{ version: number; tensor: Tensor }> {
    const response = await this.service.infer({ model, version, inputs: output.inputs, outputs: [{ name: output.name }] }, context);
    const tensor = response.outputs.find((t) => t.name === output.name);
    if (!tensor) throw new CranberriesError('INTERNAL', `model '${model}' returned no output '${output.name}'`);
    return { version: response.version, tensor };
  }

  /** The config of a served version, for its TF Serving shapes; undefined where the service cannot tell (a gateway relays to workers that can). */
  private configOf(model: string, version: number): ModelConfig | undefined {
    try {
      return this.service.modelConfig(model, version);
    } catch {
      return undefined;
    }
  }

  private requireExtensions(feature: string): TfServingExtensions {
    if (!this.extensions) throw new CranberriesError('UNIMPLEMENTED', `${feature} are not supported by this server`);
    return this.extensions;
  }
}

interface FitOutput {
  readonly name: string;
  /** The examples as the model's input tensors. */
  readonly inputs: Tensor[];
}

function requestedOutputs(filter: readonly string[], metadata: ModelMetadata): RequestedOutput[] {
  const known = new Set(metadata.outputs.map((t) => t.name));
  const seen = new Set<string>();
  return filter.map((name) => {
    if (!known.has(name)) {
      throw invalidArgument(`output tensor alias not found in signature: ${name}. Outputs expected to be in the set {${[...known].join(',')}}.`);
    }
    if (seen.has(name)) throw invalidArgument(`duplicate output tensor alias: ${name}`);
    seen.add(name);
    return { name };
  });
}
