/**
 * A worker thread that runs one instance of a JavaScript model (`<version>/model.mjs`).
 *
 * The module is imported here, never on the main thread: a module that blocks (a tight loop, a
 * large synchronous decode) then holds only its own instance, and a module that crashes takes
 * down only its thread. The contract the module follows is described in `javascript-backend.ts`.
 */
import { workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { arrayTypeOf, dataTypeFromConfig, elementCount, isDataType, type DataType, type Tensor } from '../../tensors/index.js';
import { joinBatch, sendResult, sendRunFailed, serveInstance, transferableTensors, type RunMessage } from '../instance-thread/index.js';
import { boundedMessage, type ModuleError, type ModuleProtocol, type ModuleWorkerData } from './module-messages.js';

const options = workerData as ModuleWorkerData;
const encoder = new TextEncoder();

type ExecuteFunction = (inputs: Record<string, Tensor>, context: ExecuteContext) => unknown;

interface ExecuteContext {
  /** Rows of the joined batch (dim 0 of every input), 0 for a model that does not batch. */
  readonly batchSize: number;
  /** Requests joined into this execution. */
  readonly requests: number;
  /** Names of the outputs to return. */
  readonly outputs: readonly string[];
}

interface JsModel {
  initialize?: (args: {
    config: ModuleWorkerData['config'];
    version: string;
    folder: string;
    parameters: Readonly<Record<string, string>>;
    importPackage: (specifier: string) => Promise<unknown>;
  }) => unknown;
  execute: ExecuteFunction;
  finalize?: () => unknown;
}

const outputTypes = new Map<string, DataType | undefined>(options.config.output.map((o) => [o.name, dataTypeFromConfig(o.data_type)]));

/**
 * Imports a package as the server resolves it (its own node_modules): a model folder may live
 * anywhere (a mounted volume, a temp folder) where a bare `import 'jpeg-js'` would find nothing.
 */
function importPackage(specifier: string): Promise<unknown> {
  return import(specifier) as Promise<unknown>;
}

async function load(): Promise<JsModel> {
  const imported = (await import(pathToFileURL(options.modulePath).href)) as Partial<JsModel>;
  if (typeof imported.execute !== 'function') throw new Error('model.mjs exports no execute function');
  const model = imported as JsModel;
  if (typeof model.initialize === 'function') {
    await model.initialize({ config: options.config, version: options.version, folder: options.folder, parameters: options.parameters, importPackage });
  }
  return model;
}

async function run(model: JsModel, message: RunMessage): Promise<void> {
  try {
    const { requests } = message;
    const joined = joinBatch(requests);
    const inputs: Record<string, Tensor> = {};
    for (const input of joined) inputs[input.name] = input;
    const batching = options.config.max_batch_size > 0;
    const context: ExecuteContext = { batchSize: batching ? (joined[0]?.shape[0] ?? 0) : 0, requests: requests.length, outputs: message.outputs };
    const t0 = process.hrtime.bigint();
    const returned = await model.execute(inputs, context);
    const t1 = process.hrtime.bigint();
    const outputs = message.outputs.map((name) => outputTensor(name, returned));
    const { tensors, transfer } = transferableTensors(outputs);
    const t2 = process.hrtime.bigint();
    sendResult({ kind: 'result', id: message.id, outputs: tensors, computeInputNs: 0, computeInferNs: Number(t1 - t0), computeOutputNs: Number(t2 - t1) }, transfer);
  } catch (error) {
    sendRunFailed<ModuleProtocol>(message.id, moduleError(error));
  }
}

async function finalize(model: JsModel): Promise<string | undefined> {
  try {
    if (typeof model.finalize === 'function') await model.finalize();
    return undefined;
  } catch (error) {
    return boundedMessage(error);
  }
}

/** INVALID_ARGUMENT when the thrown error says so (`error.code`), INTERNAL otherwise. */
function moduleError(error: unknown): ModuleError {
  const code = (error as { code?: unknown } | null)?.code === 'INVALID_ARGUMENT' ? 'INVALID_ARGUMENT' : 'INTERNAL';
  return { code, message: boundedMessage(error) };
}

class ContractError extends Error {}

/** Output `name` of what `execute` returned, checked against the contract and the config. */
function outputTensor(name: string, returned: unknown): Tensor {
  if (returned === null || typeof returned !== 'object') throw new ContractError(`execute returned ${returned === null ? 'null' : typeof returned}, not an object of outputs`);
  const value = (returned as Record<string, unknown>)[name] as { datatype?: unknown; shape?: unknown; data?: unknown } | undefined;
  if (value === undefined || value === null || typeof value !== 'object') throw new ContractError(`execute returned no output '${name}'`);
  const datatype = value.datatype ?? outputTypes.get(name);
  if (typeof datatype !== 'string' || !isDataType(datatype)) throw new ContractError(`output '${name}': datatype ${JSON.stringify(datatype)?.slice(0, 40)} is not a datatype`);
  const configured = outputTypes.get(name);
  if (configured !== undefined && configured !== datatype) throw new ContractError(`output '${name}' is ${datatype}, but the config declares ${configured}`);
  const shape = value.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw new ContractError(`output '${name}': shape must be an array of non-negative integers`);
  const count = elementCount(shape as number[]);
  let data: Tensor['data'];
  if (datatype === 'BYTES') {
    if (!Array.isArray(value.data)) throw new ContractError(`output '${name}' (BYTES): data must be an array of Uint8Array, Buffer or string`);
    data = value.data.map((element: unknown) => {
      if (typeof element === 'string') return encoder.encode(element);
      if (element instanceof Uint8Array) return element;
      throw new ContractError(`output '${name}' (BYTES): data must be an array of Uint8Array, Buffer or string`);
    });
  } else {
    const type = arrayTypeOf(datatype);
    if (value.data instanceof type) data = value.data;
    else if (Array.isArray(value.data)) {
      const list = value.data as unknown[];
      const array = new type(list.length);
      const slots = array as unknown as { [index: number]: number | bigint };
      const big = datatype === 'INT64' || datatype === 'UINT64';
      list.forEach((v, i) => (slots[i] = big ? BigInt(v as number) : Number(v)));
      data = array;
    } else throw new ContractError(`output '${name}' (${datatype}): data must be a ${type.name} or an array of numbers`);
  }
  if (data.length !== count) throw new ContractError(`output '${name}': shape [${(shape as number[]).join(',')}] holds ${count} elements, data has ${data.length}`);
  return { name, datatype, shape: shape as number[], data };
}

serveInstance<ModuleProtocol, JsModel>('module-worker', {
  load,
  ready: () => Promise.resolve(undefined),
  loadFailure: boundedMessage,
  run,
  release: (model, done) => void finalize(model).then(done),
});
