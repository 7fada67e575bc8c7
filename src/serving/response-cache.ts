/**
 * The response cache (Triton's `response_cache`, computation reuse): answers a request that is
 * byte-for-byte one already answered without queueing or running the model.
 *
 * Contract:
 * - The key is the model, version, the loaded copy (its stamp), every input's name, datatype,
 *   shape and bytes (inputs in name order), and the requested outputs with their classification.
 *   It is hashed (SHA-1) to find the slot, and compared in full on a hit, so a hash collision is a
 *   miss, never a wrong answer.
 * - One LRU over every model, bounded by `maxBytes`: an entry costs its key bytes plus its output
 *   bytes (plus a small fixed overhead). An entry larger than the whole budget is not stored.
 * - Entries are owned copies: a hit returns tensors the cache keeps, which callers must not mutate.
 * - A version's entries are dropped when that version starts unloading (or fails), and an answer
 *   computed before the drop is not stored after it (per-version generations).
 *
 * Lookups cost one hash of the input bytes and no copy; a miss copies the key once, because the
 * input buffers are handed to a worker thread (and detached) before the answer comes back.
 */
import { createHash } from 'node:crypto';
import type { EventChannel } from '../core/index.js';
import type { Tensor } from '../tensors/index.js';
import type { RequestedOutput } from './inference.js';
import type { VersionStateEvent } from './model-manager.js';

export interface ResponseCacheOptions {
  /** Byte budget of all entries together; must be > 0. */
  readonly maxBytes: number;
}

/** Identity of one loaded copy of a model version. */
export interface CachedVersion {
  readonly model: string;
  readonly version: number;
  /** Changes whenever the version's files or config change (a reload). */
  readonly stamp: string;
}

export type CacheLookup =
  | { readonly hit: true; readonly outputs: readonly Tensor[] }
  | {
      readonly hit: false;
      /** Time the lookup took, in nanoseconds. */
      readonly lookupNs: number;
      /** Stores the answer of this request; returns the nanoseconds it took. */
      store(outputs: readonly Tensor[]): number;
    };

interface Entry {
  readonly slot: string;
  readonly versionKey: string;
  readonly header: string;
  /** Every input's bytes, concatenated in key order. */
  readonly data: Buffer;
  readonly outputs: readonly Tensor[];
  readonly bytes: number;
}

/** Bookkeeping an entry costs beyond its bytes (objects, map slots), as a rough constant. */
const ENTRY_OVERHEAD_BYTES = 256;

export class ResponseCache {
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  private bytes = 0;
  private counts = { hits: 0, misses: 0, evictions: 0 };

  constructor(private readonly options: ResponseCacheOptions) {
    if (!(options.maxBytes > 0)) throw new RangeError('the response cache needs a size > 0');
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get entryCount(): number {
    return this.entries.size;
  }

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /** Lookups answered and missed, and entries evicted to stay in budget, since the start. */
  get counters(): { readonly hits: number; readonly misses: number; readonly evictions: number } {
    return { ...this.counts };
  }

  /**
   * Drops a version's entries when a copy of it starts unloading. Only UNLOADING counts: a
   * replaced copy reports UNLOADING in the same tick its successor becomes READY (so no answer of
   * the old copy is ever served for the new one), but reports UNAVAILABLE only after draining, when
   * the successor may already have cached answers of its own. A version whose load failed never
   * served, so it has nothing to drop.
   */
  followVersions(states: EventChannel<VersionStateEvent>): () => void {
    return states.subscribe((event) => {
      if (event.state === 'UNLOADING') this.dropVersion(event.model, event.version);
    });
  }

  lookup(version: CachedVersion, inputs: readonly Tensor[], outputs: readonly RequestedOutput[]): CacheLookup {
    const started = process.hrtime.bigint();
    const versionKey = `${version.model}\u0000${version.version}`;
    const ordered = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const views = ordered.map(bytesOf);
    const header = headerOf(version, ordered, views, outputs);
    const hash = createHash('sha1').update(header);
    for (const view of views) hash.update(view);
    const slot = hash.digest('base64');

    const entry = this.entries.get(slot);
    if (entry && entry.header === header && sameBytes(entry.data, views)) {
      this.entries.delete(slot);
      this.entries.set(slot, entry);
      this.counts.hits++;
      return { hit: true, outputs: entry.outputs };
    }
    this.counts.misses++;
    const generation = this.generations.get(versionKey) ?? 0;
    // Copied now: the inputs' buffers may be transferred to a worker (and emptied) before `store`.
    const data = Buffer.concat(views);
    return {
      hit: false,
      lookupNs: Number(process.hrtime.bigint() - started),
      store: (answer) => {
        const t0 = process.hrtime.bigint();
        if ((this.generations.get(versionKey) ?? 0) === generation) this.insert({ slot, versionKey, header, data, answer });
        return Number(process.hrtime.bigint() - t0);
      },
    };
  }

  /** Removes every entry of `model` version `version` and refuses answers computed before now. */
  dropVersion(model: string, version: number): void {
    const versionKey = `${model}\u0000${version}`;
    this.generations.set(versionKey, (this.generations.get(versionKey) ?? 0) + 1);
    for (const entry of this.entries.values()) {
      if (entry.versionKey === versionKey) this.delete(entry);
    }
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  private insert(fields: { slot: string; versionKey: string; header: string; data: Buffer; answer: readonly Tensor[] }): void {
    const outputs = fields.answer.map(ownedCopy);
    const outputBytes = outputs.reduce((sum, t) => sum + tensorBytes(t), 0);
    const bytes = fields.data.byteLength + fields.header.length * 2 + outputBytes + ENTRY_OVERHEAD_BYTES;
    if (bytes > this.options.maxBytes) return;
    const previous = this.entries.get(fields.slot);
    if (previous) this.delete(previous);
    while (this.bytes + bytes > this.options.maxBytes) {
      const oldest = this.entries.values().next().value as Entry;
      this.delete(oldest);
      this.counts.evictions++;
    }
    this.entries.set(fields.slot, { slot: fields.slot, versionKey: fields.versionKey, header: fields.header, data: fields.data, outputs, bytes });
    this.bytes += bytes;
  }

  private delete(entry: Entry): void {
    this.entries.delete(entry.slot);
    this.bytes -= entry.bytes;
  }
}

/** Everything of the key except the input bytes; the byte length of each input keeps it unambiguous. */
function headerOf(version: CachedVersion, inputs: readonly Tensor[], views: readonly Uint8Array[], outputs: readonly RequestedOutput[]): string {
  let header = `${version.model}\u0000${version.version}\u0000${version.stamp}`;
  inputs.forEach((t, i) => (header += `\u0001${t.name}\u0000${t.datatype}\u0000${t.shape.join(',')}\u0000${views[i]!.byteLength}`));
  for (const o of outputs) header += `\u0002${o.name}\u0000${o.classification ?? ''}`;
  return header;
}

/** A tensor's bytes without copying numeric data; BYTES elements are framed as the wire does (u32 LE length + bytes). */
function bytesOf(tensor: Tensor): Uint8Array {
  const data = tensor.data;
  if (!Array.isArray(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = Buffer.allocUnsafe(data.reduce((n, e) => n + 4 + e.byteLength, 0));
  let offset = 0;
  for (const element of data) {
    out.writeUInt32LE(element.byteLength, offset);
    out.set(element, offset + 4);
    offset += 4 + element.byteLength;
  }
  return out;
}

function sameBytes(stored: Buffer, views: readonly Uint8Array[]): boolean {
  let offset = 0;
  for (const view of views) {
    if (offset + view.byteLength > stored.byteLength) return false;
    if (Buffer.compare(stored.subarray(offset, offset + view.byteLength), view) !== 0) return false;
    offset += view.byteLength;
  }
  return offset === stored.byteLength;
}

function tensorBytes(tensor: Tensor): number {
  const data = tensor.data;
  return Array.isArray(data) ? data.reduce((n, e) => n + e.byteLength, 0) : data.byteLength;
}

/** A tensor whose data owns its buffer, so an entry never pins a whole batch's output buffer. */
function ownedCopy(tensor: Tensor): Tensor {
  const data = tensor.data;
  const copy = Array.isArray(data) ? data.map((e) => e.slice()) : data.slice();
  return { name: tensor.name, datatype: tensor.datatype, shape: [...tensor.shape], data: copy };
}
