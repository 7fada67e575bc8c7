/**
 * Triton's system shared-memory extension: named regions of POSIX shared memory objects
 * (`/dev/shm/<key>` on Linux) that clients register, then name in inference requests instead of
 * sending tensor bytes. Messages and error codes follow Triton's `SharedMemoryManager`; where Triton
 * answers a client's mistake with INTERNAL (a key that cannot be opened), this answers
 * INVALID_ARGUMENT with the same text, so the 5xx logs stay for server faults.
 *
 * Access is by positional reads and writes (`pread`/`pwrite`) on a descriptor opened at
 * registration, not by mmap: Node has no mmap, and the one maintained npm binding (mmap-io 1.1.7)
 * does not compile against Node 20. On tmpfs a positional read is a kernel memcpy, and unlike a
 * mapping, an object the client shrinks later gives a short read (an error here) instead of
 * SIGBUS. The cost is one copy per tensor each way, measured in the shared-memory docs.
 *
 * Regions in use by in-flight requests are pinned: unregistering one succeeds at once but the
 * region stays listed and usable until its last request finishes, as in Triton.
 */
import { closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { quoteInput, CranberriesError, invalidArgument, notFound } from '../core/index.js';
import { takeBuffer } from '../tensors/index.js';

/** What status answers for one region (Triton's JSON field names). */
export interface RegionStatus {
  readonly name: string;
  readonly key: string;
  readonly offset: number;
  readonly byte_size: number;
}

/** The calls the protocol adapters make; `SystemSharedMemory` and the refusing stand-in implement them. */
export interface SharedMemoryRegions {
  register(name: string, key: string, offset: number, byteSize: number): void;
  /** No name: every region. Unknown names are not an error (Triton). */
  unregister(name?: string): void;
  /** No name: every region; a name that is not registered is NOT_FOUND. */
  status(name?: string): RegionStatus[];
  /** Pins `byteSize` bytes at `offset` of region `name` for one request; bounds are checked here. */
  acquire(name: string, offset: number, byteSize: number): RegionLease;
  /**
   * CUDA shared memory, answered as Triton without GPUs answers it: status lists nothing,
   * unregistering succeeds (there is nothing to unregister), registering fails.
   */
  registerCuda(name: string): never;
  unregisterCuda(): void;
}

/** A pinned slice of a region, valid until `release()`. */
export interface RegionLease {
  readonly region: string;
  readonly byteSize: number;
  /** A fresh buffer holding the slice's first `length` bytes (default: all of it). */
  read(length?: number): Buffer;
  /** Writes `bytes` at the slice's start; the caller has checked they fit. */
  write(bytes: Uint8Array): void;
  release(): void;
}

export interface SystemSharedMemoryOptions {
  /** Whether clients may register and unregister regions (`--allow-client-shm`); Triton's default is false. */
  readonly allowClientShm: boolean;
  /** Where the shared memory objects live. Default `/dev/shm`. */
  readonly root?: string | undefined;
}

/** The error Triton answers for (un)registration while client shared memory is disabled. */
export const CLIENT_SHM_DISABLED = "Client shared memory is disabled. Start the server with '--allow-client-shm=true' to enable.";

/** Keys starting with this (after any slashes) are Triton's own (Python backend); refused like Triton. */
const RESERVED_KEY_PREFIX = 'triton_python_backend_shm_region_';
/** Longest file name Linux allows (NAME_MAX). */
const MAX_KEY_NAME = 255;

interface Region {
  readonly name: string;
  readonly key: string;
  readonly offset: number;
  readonly byteSize: number;
  readonly fd: number;
  leases: number;
  awaitingUnregister: boolean;
}

export class SystemSharedMemory implements SharedMemoryRegions {
  private readonly regions = new Map<string, Region>();
  private readonly root: string;
  readonly allowClientShm: boolean;

  constructor(options: SystemSharedMemoryOptions) {
    this.allowClientShm = options.allowClientShm;
    this.root = options.root ?? '/dev/shm';
  }

  register(name: string, key: string, offset: number, byteSize: number): void {
    if (!this.allowClientShm) throw new CranberriesError('UNIMPLEMENTED', CLIENT_SHM_DISABLED);
    if (name === '') throw invalidArgument("'region name' is necessary to register system shared memory region");
    const path = join(this.root, objectNameOf(name, key));
    if (this.regions.has(name)) throw new CranberriesError('ALREADY_EXISTS', `shared memory region ${quoteInput(name)} already in manager`);
    let fd: number;
    try {
      // O_NOFOLLOW: /dev/shm is world-writable, so a symlink there must not lead the server to
      // another file; O_NONBLOCK: a FIFO planted there must not hang the event loop.
      fd = openSync(path, constants.O_RDWR | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      throw invalidArgument(`Unable to open shared memory region: ${quoteInput(key)}`);
    }
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile()) throw invalidArgument(`Invalid shared memory region: ${quoteInput(key)}`);
      if (!isByteCount(offset) || !isByteCount(byteSize) || offset + byteSize > stats.size) {
        throw invalidArgument(`failed to register shared memory region ${quoteInput(name)}: invalid args`);
      }
      this.regions.set(name, { name, key, offset, byteSize, fd, leases: 0, awaitingUnregister: false });
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  unregister(name?: string): void {
    if (!this.allowClientShm) throw new CranberriesError('UNIMPLEMENTED', CLIENT_SHM_DISABLED);
    if (name === undefined || name === '') {
      for (const region of [...this.regions.values()]) this.drop(region);
      return;
    }
    const region = this.regions.get(name);
    if (region) this.drop(region);
  }

  status(name?: string): RegionStatus[] {
    if (name === undefined || name === '') return [...this.regions.values()].map(statusOf);
    const region = this.regions.get(name);
    if (!region) throw notFound(`Unable to find system shared memory region: ${quoteInput(name)}`);
    return [statusOf(region)];
  }

  acquire(name: string, offset: number, byteSize: number): RegionLease {
    const region = this.regions.get(name);
    if (!region) throw notFound(`Unable to find shared memory region: ${quoteInput(name)}`);
    if (offset >= region.byteSize) throw invalidArgument(`Invalid offset for shared memory region: ${quoteInput(name)}`);
    if (offset + byteSize > region.byteSize) throw invalidArgument(`Invalid offset + byte size for shared memory region: ${quoteInput(name)}`);
    region.leases++;
    const position = region.offset + offset;
    let released = false;
    return {
      region: name,
      byteSize,
      read: (length = byteSize) => readAt(region, position, length),
      write: (bytes) => writeAt(region, position, bytes),
      release: () => {
        if (released) return;
        released = true;
        region.leases--;
        if (region.awaitingUnregister && region.leases === 0) this.drop(region);
      },
    };
  }

  registerCuda(name: string): never {
    if (!this.allowClientShm) throw new CranberriesError('UNIMPLEMENTED', CLIENT_SHM_DISABLED);
    throw invalidArgument(`failed to register CUDA shared memory region: ${quoteInput(name)}, GPUs not supported`);
  }

  unregisterCuda(): void {
    if (!this.allowClientShm) throw new CranberriesError('UNIMPLEMENTED', CLIENT_SHM_DISABLED);
  }

  /** Closes every region (server shutdown); leases still out fail their next read or write. */
  close(): void {
    for (const region of this.regions.values()) closeSync(region.fd);
    this.regions.clear();
  }

  private drop(region: Region): void {
    if (region.leases > 0) {
      region.awaitingUnregister = true;
      return;
    }
    if (this.regions.get(region.name) !== region) return;
    this.regions.delete(region.name);
    closeSync(region.fd);
  }
}

/**
 * Stands in where shared memory cannot work: status lists nothing, registration and inference
 * that names a region are refused with `reason` (the cluster gateway: regions live on one machine,
 * the request may be served on another).
 */
export function refusingSharedMemory(reason: string): SharedMemoryRegions {
  const refuse = (): never => {
    throw new CranberriesError('UNIMPLEMENTED', reason);
  };
  return { register: refuse, unregister: refuse, status: () => [], acquire: refuse, registerCuda: refuse, unregisterCuda: refuse };
}

/**
 * The object's file name under the root for `key`, or INVALID_ARGUMENT. Like `shm_open`, leading
 * slashes are dropped and no other slash is allowed, so a key can only name a file directly in the
 * shared-memory folder: `.`, `..` and NUL bytes are refused too.
 */
function objectNameOf(name: string, key: string): string {
  const stripped = key.replace(/^\/+/, '');
  if (stripped.startsWith(RESERVED_KEY_PREFIX)) {
    throw invalidArgument(`cannot register shared memory region ${quoteInput(name)} with key ${quoteInput(key)} as the key contains the reserved prefix '${RESERVED_KEY_PREFIX}'`);
  }
  if (stripped === '' || stripped === '.' || stripped === '..' || stripped.includes('/') || stripped.includes('\0') || Buffer.byteLength(stripped) > MAX_KEY_NAME) {
    throw invalidArgument(`cannot register shared memory region ${quoteInput(name)} - invalid shm key ${quoteInput(key)}`);
  }
  return stripped;
}

function isByteCount(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function statusOf(region: Region): RegionStatus {
  return { name: region.name, key: region.key, offset: region.offset, byte_size: region.byteSize };
}

function readAt(region: Region, position: number, length: number): Buffer {
  // A buffer of its own, so the tensor that views it can move to a worker thread without a copy;
  // large ones recycled (the session thread hands them back), since touching fresh pages costs
  // more than the copy itself.
  const buffer = Buffer.from(takeBuffer(length), 0, length);
  let done = 0;
  while (done < length) {
    const read = readSync(region.fd, buffer, done, length - done, position + done);
    if (read === 0) throw invalidArgument(`shared memory region ${quoteInput(region.name)}: its object ${quoteInput(region.key)} is smaller than when it was registered`);
    done += read;
  }
  return buffer;
}

function writeAt(region: Region, position: number, bytes: Uint8Array): void {
  // A write past the end would grow the client's object (tmpfs memory) instead of failing.
  if (position + bytes.byteLength > fstatSync(region.fd).size) {
    throw invalidArgument(`shared memory region ${quoteInput(region.name)}: its object ${quoteInput(region.key)} is smaller than when it was registered`);
  }
  let done = 0;
  while (done < bytes.byteLength) {
    done += writeSync(region.fd, bytes, done, bytes.byteLength - done, position + done);
  }
}
