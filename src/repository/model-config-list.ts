/**
 * TF Serving's model list (`--model_config_file`, text-format `tensorflow.serving.ModelServerConfig`
 * with a `model_config_list`, TF Serving's model_server_config.proto), read into plain entries the model source acts on:
 *
 *   model_config_list {
 *     config {
 *       name: "digits"  base_path: "/models/digits"
 *       model_version_policy { specific { versions: 1 versions: 2 } }
 *       version_labels { key: "stable" value: 1 }
 *     }
 *   }
 *
 * `base_path` is a Triton-layout model folder (optional `config.pbtxt`, numeric version folders); a
 * relative one is taken relative to `baseDir` (the config file's folder). `model_platform` is
 * accepted and ignored: the backend comes from the folder's `config.pbtxt` or model file. The same
 * normalizer reads the message as gRPC's `HandleReloadConfigRequest` decodes it, so both sources of
 * a model list obey the same rules. Every problem is an INVALID_ARGUMENT naming the entry.
 */
import { isAbsolute, resolve } from 'node:path';
import protobuf from 'protobufjs';
import { CranberriesError, invalidArgument } from '../core/index.js';
import { findProtoFile } from './config-proto.js';
import type { ModelVersionPolicy } from './model-config.js';
import { parseTextFormat } from './text-format.js';
import { modelNameProblem, shownName } from './model-names.js';

export interface ModelConfigListEntry {
  readonly name: string;
  /** Absolute path of the model folder. */
  readonly basePath: string;
  /** Overrides the folder's `config.pbtxt` version policy when set. */
  readonly versionPolicy?: ModelVersionPolicy | undefined;
  /** Label → version. */
  readonly versionLabels: Readonly<Record<string, number>>;
}

let serverConfigType: protobuf.Type | undefined;

/** `tensorflow.serving.ModelServerConfig`, loaded once from `proto/`. */
export function modelServerConfigType(): protobuf.Type {
  if (!serverConfigType) {
    const file = findProtoFile('tensorflow_serving/config/model_server_config.proto');
    const protoRoot = file.slice(0, -'tensorflow_serving/config/model_server_config.proto'.length);
    const root = new protobuf.Root();
    // Imports are relative to the proto root; google/protobuf/* resolve to protobufjs' bundled copies.
    root.resolvePath = (_origin, target) => (isAbsolute(target) ? target : protoRoot + target);
    root.loadSync(file, { keepCase: true });
    root.resolveAll();
    serverConfigType = root.lookupType('tensorflow.serving.ModelServerConfig');
  }
  return serverConfigType;
}

/** Parses the text of a model config file; `fileName` names it in errors, `baseDir` anchors relative base paths. */
export function parseModelConfigList(text: string, fileName: string, baseDir: string): ModelConfigListEntry[] {
  let raw: Record<string, unknown>;
  try {
    raw = parseTextFormat(text, modelServerConfigType());
  } catch (error) {
    if (!(error instanceof CranberriesError)) throw error;
    throw new CranberriesError(error.code, `${fileName}: ${error.message}`, { cause: error });
  }
  return modelConfigListFromMessage(raw, fileName, baseDir);
}

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a `ModelServerConfig` message given as a plain object: from the text parser (only the
 * fields written) or from grpc-js (every field, unset messages `null`, 64-bit numbers as strings).
 */
export function modelConfigListFromMessage(message: unknown, where: string, baseDir: string): ModelConfigListEntry[] {
  if (!isPlain(message)) throw invalidArgument(`${where}: the model server config must be a message`);
  if (isPlain(message['custom_model_config'])) {
    throw new CranberriesError('UNIMPLEMENTED', `${where}: custom_model_config is not supported; use model_config_list`);
  }
  const list = message['model_config_list'];
  if (!isPlain(list)) throw invalidArgument(`${where}: model_config_list is missing`);
  const configs = list['config'] ?? [];
  if (!Array.isArray(configs)) throw invalidArgument(`${where}: model_config_list.config must be a list`);
  const seen = new Set<string>();
  return configs.map((config, index) => {
    const entry = entryOf(config, `${where}: model_config_list.config[${index}]`, baseDir);
    if (seen.has(entry.name)) throw invalidArgument(`${where}: model '${entry.name}' is listed more than once`);
    seen.add(entry.name);
    return entry;
  });
}

function entryOf(config: unknown, where: string, baseDir: string): ModelConfigListEntry {
  if (!isPlain(config)) throw invalidArgument(`${where} must be a message`);
  const name = config['name'];
  if (typeof name !== 'string' || name === '') throw invalidArgument(`${where}: name is required`);
  const problem = modelNameProblem(name);
  if (problem !== undefined) throw invalidArgument(`${where}: model name ${shownName(name)}: ${problem}`);
  const context = `${where} (model '${name}')`;
  const basePath = config['base_path'];
  if (typeof basePath !== 'string' || basePath === '') throw invalidArgument(`${context}: base_path is required`);
  return {
    name,
    basePath: resolve(baseDir, basePath),
    versionPolicy: policyOf(config['model_version_policy'], context),
    versionLabels: labelsOf(config['version_labels'], context),
  };
}

function policyOf(policy: unknown, where: string): ModelVersionPolicy | undefined {
  if (policy === undefined || policy === null) return undefined;
  if (!isPlain(policy)) throw invalidArgument(`${where}: model_version_policy must be a message`);
  if (isPlain(policy['latest'])) {
    const count = integerOf(policy['latest']['num_versions'] ?? 0, `${where}: model_version_policy.latest.num_versions`);
    return { latest: { num_versions: Math.max(1, count) } };
  }
  if (isPlain(policy['all'])) return { all: {} };
  if (isPlain(policy['specific'])) {
    const versions = policy['specific']['versions'] ?? [];
    if (!Array.isArray(versions) || versions.length === 0) throw invalidArgument(`${where}: model_version_policy.specific needs at least one version`);
    return { specific: { versions: versions.map((v, i) => integerOf(v, `${where}: model_version_policy.specific.versions[${i}]`)) } };
  }
  // An empty policy message: the default.
  return undefined;
}

function labelsOf(labels: unknown, where: string): Readonly<Record<string, number>> {
  if (labels === undefined || labels === null) return {};
  if (!isPlain(labels)) throw invalidArgument(`${where}: version_labels must be a map`);
  const out: Record<string, number> = {};
  for (const [label, version] of Object.entries(labels)) {
    const number = integerOf(version, `${where}: version_labels["${label}"]`);
    if (number < 1) throw invalidArgument(`${where}: version_labels["${label}"] must be a positive version number, got ${number}`);
    out[label] = number;
  }
  return out;
}

function integerOf(value: unknown, where: string): number {
  const number = typeof value === 'string' && /^-?[0-9]+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0) {
    throw invalidArgument(`${where} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return number;
}
