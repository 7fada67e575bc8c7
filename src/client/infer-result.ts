/**
 * The answer of `InferenceClient.infer`, the same whichever transport produced it. Outputs keep the
 * server's order; look them up by name (the protocol does not promise an order).
 */
import type { OutputTensor, ParameterValue } from './client-types.js';
import { bytesToStrings } from './tensor-data.js';

export interface InferResultInit {
  readonly model: string;
  readonly version: string;
  readonly id?: string | undefined;
  readonly parameters?: Readonly<Record<string, ParameterValue>> | undefined;
  readonly outputs: readonly OutputTensor[];
}

export class InferResult {
  readonly model: string;
  /** The version that ran (decimal string; empty if the server did not say). */
  readonly version: string;
  readonly id: string | undefined;
  readonly parameters: Readonly<Record<string, ParameterValue>> | undefined;
  readonly outputs: readonly OutputTensor[];

  constructor(init: InferResultInit) {
    this.model = init.model;
    this.version = init.version;
    this.id = init.id;
    this.parameters = init.parameters;
    this.outputs = init.outputs;
  }

  /** The output called `name`; throws naming the outputs that exist when there is none. */
  output(name: string): OutputTensor {
    const found = this.outputs.find((output) => output.name === name);
    if (found === undefined) {
      throw new RangeError(`the response has no output '${name}' (it has ${this.outputs.map((o) => `'${o.name}'`).join(', ') || 'none'})`);
    }
    return found;
  }

  /** A BYTES output (e.g. a classification result) as text. */
  strings(name: string): string[] {
    const output = this.output(name);
    if (!Array.isArray(output.data)) throw new TypeError(`output '${name}' is ${output.datatype}, not BYTES`);
    return bytesToStrings(output.data);
  }
}
