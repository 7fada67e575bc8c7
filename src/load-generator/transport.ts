/**
 * What the load generator needs from a protocol: the model's signature, the server's statistics,
 * and a way to send one pre-encoded inference request again and again. Requests are encoded once
 * per run so the generator measures the server, not its own serialisation.
 */
import { isDataType, type DataType } from '../tensors/index.js';
import type { Tensor } from '../tensors/index.js';
import type { StatisticsSnapshot } from './server-statistics.js';

export const BENCH_PROTOCOLS = ['rest-json', 'rest-binary', 'grpc'] as const;
export type BenchProtocol = (typeof BENCH_PROTOCOLS)[number];

export interface TensorInfo {
  readonly name: string;
  readonly datatype: DataType;
  /** As the metadata API gives it: `-1` for any size (the batch dim of batching models included). */
  readonly shape: readonly number[];
}

export interface ModelInfo {
  readonly name: string;
  readonly versions: readonly string[];
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /** From the model configuration; > 0 means the first dim of every input is the batch. */
  readonly maxBatchSize: number;
}

export interface InferTarget {
  readonly model: string;
  readonly version?: string | undefined;
  readonly inputs: readonly Tensor[];
  /** Outputs to ask for; undefined asks for every output. */
  readonly outputs?: readonly string[] | undefined;
}

export interface BenchTransport {
  readonly protocol: BenchProtocol;
  metadata(model: string, version?: string): Promise<ModelInfo>;
  /** Cumulative statistics of the model (summed over its versions when none is given). */
  statistics(model: string, version?: string): Promise<StatisticsSnapshot>;
  /** Encodes the request once; the returned function sends it and rejects on any non-success answer. */
  prepare(target: InferTarget): () => Promise<void>;
  /** Bytes one prepared request puts on the wire as its tensor payload (for MB/s figures). */
  payloadBytes(target: InferTarget): number;
  close(): Promise<void>;
}

/** A tensor of a metadata answer (REST JSON or gRPC, whose shapes are strings) as `TensorInfo`. */
export function tensorInfo(value: unknown): TensorInfo {
  const t = value as { name: string; datatype: string; shape: (number | string)[] };
  if (!isDataType(t.datatype)) throw new Error(`tensor '${t.name}' has datatype ${t.datatype}, unknown to the benchmark`);
  return { name: t.name, datatype: t.datatype, shape: t.shape.map(Number) };
}
