/**
 * The shapes the TF Serving APIs show for a model: the model's own rank, not the Triton config's.
 *
 * A Triton config cannot say "one scalar per batch row": `dims` may not be empty, so a model
 * input or output of shape `[batch]` is configured as `dims: [1]` with `reshape: { shape: [] }`
 * (auto-completion writes exactly that), and the OIP APIs show it as `[-1, 1]`. TF Serving shows
 * such a tensor as `[-1]`: `{"instances": [1.0, 2.0, 5.0]}` is a tensor of shape `[3]` and the
 * answer is `{"predictions": [3.5, 4.0, 5.5]}`, not `[[3.5], [4.0], [5.5]]`. So on the TF Serving
 * APIs every tensor whose config is `dims: [1]` + `reshape: { shape: [] }` drops that trailing
 * `1` (a batched tensor shows `[-1]`, an unbatched one a scalar `[]`): requests are read against
 * that shape and widened back to the config's before inference, outputs are narrowed after it.
 * Only the data's shape changes; the values are shared, not copied.
 *
 * Other reshapes keep the config's shape on the TF Serving APIs too.
 */
import type { TensorSignature } from '../../backends/index.js';
import type { ModelConfig } from '../../repository/index.js';
import type { ModelMetadata } from '../../serving/index.js';
import type { Tensor } from '../../tensors/index.js';

export interface TfShapeView {
  /** The metadata with the TF Serving shapes. */
  readonly metadata: ModelMetadata;
  /** Request tensors (TF Serving shapes) → the shapes inference takes. */
  toApi(tensors: readonly Tensor[]): Tensor[];
  /** Inference outputs → the TF Serving shapes. */
  toTf(tensors: readonly Tensor[]): Tensor[];
}

interface ConfigTensorShape {
  readonly name: string;
  readonly dims: readonly number[];
  readonly reshape?: { readonly shape: readonly number[] } | undefined;
}

/** A config tensor that stands for one scalar per batch row (or one scalar). */
const isScalarPerRow = (tensor: ConfigTensorShape): boolean => tensor.reshape !== undefined && tensor.reshape.shape.length === 0 && tensor.dims.length === 1 && tensor.dims[0] === 1;

/** The TF Serving view of `metadata`; `config` undefined (not known here, e.g. a gateway) leaves the shapes as they are. */
export function tfShapeView(metadata: ModelMetadata, config: ModelConfig | undefined): TfShapeView {
  const inputs = scalarNames(config?.input);
  const outputs = scalarNames(config?.output);
  if (inputs.size === 0 && outputs.size === 0) return { metadata, toApi: (t) => [...t], toTf: (t) => [...t] };
  const narrowSignature =
    (names: ReadonlySet<string>) =>
    (t: TensorSignature): TensorSignature =>
      names.has(t.name) && t.shape.at(-1) === 1 ? { ...t, shape: t.shape.slice(0, -1) } : t;
  return {
    metadata: { ...metadata, inputs: metadata.inputs.map(narrowSignature(inputs)), outputs: metadata.outputs.map(narrowSignature(outputs)) },
    toApi: (tensors) => tensors.map((t) => (inputs.has(t.name) ? { ...t, shape: [...t.shape, 1] } : t)),
    toTf: (tensors) => tensors.map((t) => (outputs.has(t.name) && t.shape.at(-1) === 1 ? { ...t, shape: t.shape.slice(0, -1) } : t)),
  };
}

function scalarNames(tensors: readonly ConfigTensorShape[] | undefined): Set<string> {
  return new Set((tensors ?? []).filter(isScalarPerRow).map((t) => t.name));
}
