/**
 * Triton's system shared-memory extension (`/v2/systemsharedmemory/...`, the
 * `SystemSharedMemory*` RPCs, and tensors whose bytes are in a registered region), used by the REST
 * and gRPC adapters alike.
 */
import type { SharedMemoryRegions } from './system-shared-memory.js';
import { SharedMemoryUse } from './tensor-transfer.js';

export {
  CLIENT_SHM_DISABLED,
  refusingSharedMemory,
  SystemSharedMemory,
  type RegionLease,
  type RegionStatus,
  type SharedMemoryRegions,
  type SystemSharedMemoryOptions,
} from './system-shared-memory.js';
export { SHARED_MEMORY_PARAMETERS, SharedMemoryUse, sharedMemoryRefFromJson, sharedMemoryRefOf, type SharedMemoryRef } from './tensor-transfer.js';
export {
  cudaShmRegister,
  cudaShmStatus,
  cudaShmUnregister,
  systemShmRegister,
  systemShmStatus,
  systemShmUnregister,
  type WireSystemShmRegisterRequest,
  type WireSystemShmStatusRequest,
} from './grpc-calls.js';

/** What a protocol adapter needs: the regions, and how many bytes one request's inputs may read from them. */
export interface SharedMemoryAccess {
  readonly regions: SharedMemoryRegions;
  readonly maxInputBytes: number;
}

/** The shared memory of one request to `model`, when the adapter offers shared memory at all. */
export function sharedMemoryUse(access: SharedMemoryAccess | undefined, model: string): SharedMemoryUse | undefined {
  return access && new SharedMemoryUse(access.regions, model, access.maxInputBytes);
}

/** What the gateway answers: a region is memory of one machine, a relayed request may run on another. */
export const GATEWAY_SHM_REFUSAL =
  'system shared memory is not available through the cluster gateway: a region lives on one machine and the gateway may relay the request to a worker on another; register the region with the model server on the same machine (cranberries serve or worker, with --allow-client-shm) and send the requests there';
