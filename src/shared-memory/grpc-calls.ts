/**
 * The gRPC side of the system shared-memory extension: the bodies of `SystemSharedMemoryStatus`,
 * `SystemSharedMemoryRegister` and `SystemSharedMemoryUnregister` on the decoded messages (64-bit
 * fields arrive as decimal strings). The gRPC adapter wraps them like its other unary calls.
 */
import { quoteInput, notFound } from '../core/index.js';
import type { RegionStatus, SharedMemoryRegions } from './system-shared-memory.js';

export interface WireSystemShmStatusRequest {
  name: string;
}

export interface WireSystemShmRegisterRequest {
  name: string;
  key: string;
  offset: string | number;
  byte_size: string | number;
}

/** `regions` is a map keyed by region name, as in Triton's `SystemSharedMemoryStatusResponse`. */
export function systemShmStatus(regions: SharedMemoryRegions, request: WireSystemShmStatusRequest): { regions: Record<string, RegionStatus> } {
  const answer: Record<string, RegionStatus> = {};
  for (const region of regions.status(request.name)) answer[region.name] = region;
  return { regions: answer };
}

export function systemShmRegister(regions: SharedMemoryRegions, request: WireSystemShmRegisterRequest): Record<string, never> {
  // A uint64 beyond 2^53 becomes an inexact number: registration refuses it as out of bounds.
  regions.register(request.name, request.key, Number(request.offset), Number(request.byte_size));
  return {};
}

export function systemShmUnregister(regions: SharedMemoryRegions, request: WireSystemShmStatusRequest): Record<string, never> {
  regions.unregister(request.name);
  return {};
}

/** `CudaSharedMemoryStatus` as Triton without GPUs answers it: no regions; a named one is NOT_FOUND. */
export function cudaShmStatus(request: WireSystemShmStatusRequest): { regions: Record<string, never> } {
  if (request.name !== '') throw notFound(`Unable to find cuda shared memory region: ${quoteInput(request.name)}`);
  return { regions: {} };
}

export function cudaShmRegister(regions: SharedMemoryRegions, request: WireSystemShmStatusRequest): never {
  return regions.registerCuda(request.name);
}

export function cudaShmUnregister(regions: SharedMemoryRegions): Record<string, never> {
  regions.unregisterCuda();
  return {};
}
