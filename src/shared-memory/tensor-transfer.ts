/**
 * Tensors that travel through shared memory within one inference request, for every protocol
 * adapter alike: inputs are read from their region while the request is decoded, outputs are
 * written to theirs once the model has answered. The regions a request names stay pinned (see
 * `SystemSharedMemory`) from decoding until `release()`, which the adapter calls when the request
 * is over, failed or not.
 *
 * Bytes in a region have the binary tensor layout: numeric tensors row-major little-endian, BYTES
 * tensors as `<uint32 LE length><bytes>` per element (Triton's "string shm" serialization).
 */
import { formatShape, quoteInput, invalidArgument } from '../core/index.js';
import { decodeBinaryTensor, encodeBinaryTensor, byteSizeOf, type DataType, markExclusive, BYTES_ELEMENT_OVERHEAD, checkedElementCount } from '../tensors/index.js';
import type { Tensor, TensorData } from '../tensors/index.js';
import type { RegionLease, SharedMemoryRegions } from './system-shared-memory.js';

/** The tensor parameters that name shared memory (Triton's shared-memory extension). */
export const SHARED_MEMORY_PARAMETERS = ['shared_memory_region', 'shared_memory_offset', 'shared_memory_byte_size'] as const;

/** Where a tensor's bytes are: `byteSize` bytes at `offset` of registered region `region`. */
export interface SharedMemoryRef {
  readonly region: string;
  readonly offset: number;
  readonly byteSize: number;
}

/**
 * The parameters of one tensor, already typed by the protocol adapter, as a reference; undefined
 * when the tensor names no shared memory. Checks Triton's rules: the offset (default 0) and byte
 * size only come with a region, and a region needs a byte size. Values above 2^53 stay numbers:
 * they exceed every region, and the bounds check says so.
 */
export function sharedMemoryRefOf(tensor: string, region: string | undefined, offset: number | undefined, byteSize: number | undefined): SharedMemoryRef | undefined {
  const name = quoteInput(tensor);
  if (region === undefined) {
    if (offset !== undefined) throw invalidArgument(`'shared_memory_offset' can not be specified without 'shared_memory_region' parameter for tensor ${name}`);
    if (byteSize !== undefined) throw invalidArgument(`'shared_memory_byte_size' can not be specified without 'shared_memory_region' parameter for tensor ${name}`);
    return undefined;
  }
  if (byteSize === undefined) throw invalidArgument(`'shared_memory_byte_size' must be specified along with 'shared_memory_region' parameter for tensor ${name}`);
  for (const [key, value] of [
    ['shared_memory_offset', offset ?? 0],
    ['shared_memory_byte_size', byteSize],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) throw invalidArgument(`'${key}' of tensor ${name} must be a non-negative integer`);
  }
  return { region, offset: offset ?? 0, byteSize };
}

/**
 * The reference in a REST tensor's `parameters` object (JSON values), as `sharedMemoryRefOf`;
 * values of the wrong JSON type get Triton's "Unable to parse" answers.
 */
export function sharedMemoryRefFromJson(parameters: Readonly<Record<string, unknown>> | undefined, tensor: string): SharedMemoryRef | undefined {
  if (parameters === undefined) return undefined;
  const region = parameters['shared_memory_region'];
  if (region !== undefined && typeof region !== 'string') throw invalidArgument(`tensor ${quoteInput(tensor)}: Unable to parse 'shared_memory_region': expected a string`);
  const number = (key: string): number | undefined => {
    const value = parameters[key];
    if (value !== undefined && typeof value !== 'number') throw invalidArgument(`tensor ${quoteInput(tensor)}: Unable to parse '${key}': expected a non-negative integer`);
    return value;
  };
  return sharedMemoryRefOf(tensor, region, number('shared_memory_offset'), number('shared_memory_byte_size'));
}

/** The shared memory one request uses; create one per request, `release()` it when the request is over. */
export class SharedMemoryUse {
  // Created on first use: most requests name no region, and this object exists for every request.
  private leases: RegionLease[] | undefined;
  private outputs: Map<string, RegionLease> | undefined;
  /** Bytes of shared-memory inputs read so far, against `maxInputBytes`. */
  private inputBytes = 0;

  /**
   * `model` names the model in errors; `maxInputBytes` bounds what the request's inputs may read
   * from shared memory in all (the memory the copies take).
   */
  constructor(
    private readonly regions: SharedMemoryRegions,
    private readonly model: string,
    private readonly maxInputBytes: number,
  ) {}

  /**
   * The data of input `name` from `ref`. The region and bounds are checked, then the byte size
   * against the shape and datatype, before anything is read: exactly `elements × size` for numeric types, at least 4 bytes per
   * element for BYTES (whose elements are then parsed from the bytes).
   */
  readInput(ref: SharedMemoryRef, name: string, datatype: DataType, shape: readonly number[]): TensorData {
    const where = `input ${quoteInput(name)}`;
    // The region and its bounds first, as Triton checks them when it parses the request.
    const lease = this.pin(ref);
    const count = checkedElementCount(shape, where);
    if (datatype === 'BYTES') {
      if (ref.byteSize < count * BYTES_ELEMENT_OVERHEAD) {
        throw invalidArgument(`${where}: shape ${formatShape(shape)} needs ${count} BYTES elements of at least 4 bytes each, shared_memory_byte_size is ${ref.byteSize}`);
      }
    } else {
      const expected = count * byteSizeOf(datatype);
      if (ref.byteSize !== expected) {
        throw invalidArgument(`input byte size mismatch for input ${quoteInput(name)} for model ${quoteInput(this.model)}. Expected ${expected}, got ${ref.byteSize}`);
      }
    }
    if (this.inputBytes + ref.byteSize > this.maxInputBytes) {
      throw invalidArgument(`${where}: the request's inputs in shared memory take more than ${this.maxInputBytes} bytes, the most one request may read`);
    }
    this.inputBytes += ref.byteSize;
    const bytes = lease.read();
    markExclusive(bytes.buffer);
    return decodeBinaryTensor(datatype, shape, bytes, name);
  }

  /** Output `name` goes to `ref` instead of the response; its region and bounds are checked now. */
  reserveOutput(ref: SharedMemoryRef, name: string): void {
    (this.outputs ??= new Map()).set(name, this.pin(ref));
  }

  /** Whether output `name` goes to shared memory (then the response carries no data for it). */
  isSharedMemoryOutput(name: string): boolean {
    return this.outputs?.has(name) ?? false;
  }

  /** Writes every reserved output found in `outputs`; an output larger than its slice fails the request. */
  writeOutputs(outputs: readonly Tensor[]): void {
    if (this.outputs === undefined) return;
    for (const output of outputs) {
      const lease = this.outputs.get(output.name);
      if (lease === undefined) continue;
      const bytes = encodeBinaryTensor(output.data);
      if (bytes.byteLength > lease.byteSize) {
        throw invalidArgument(
          `shared memory size specified with the request for output ${quoteInput(output.name)} (${lease.byteSize} bytes) should be at least ${bytes.byteLength} bytes to hold the results`,
        );
      }
      lease.write(bytes);
    }
  }

  /** Unpins every region; a region unregistered meanwhile goes now if no other request holds it. */
  release(): void {
    if (this.leases === undefined) return;
    for (const lease of this.leases) lease.release();
    this.leases = undefined;
    this.outputs = undefined;
  }

  private pin(ref: SharedMemoryRef): RegionLease {
    const lease = this.regions.acquire(ref.region, ref.offset, ref.byteSize);
    (this.leases ??= []).push(lease);
    return lease;
  }
}
