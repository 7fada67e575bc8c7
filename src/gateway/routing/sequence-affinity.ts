/**
 * Sequence affinity: every request of a sequence (`sequence_id`) goes to the same replica, because
 * a sequence's slot and implicit state live in one worker. The gateway reads only the correlation
 * id (never the tensors) and keys a sticky choice on it:
 *
 * - The first request of a sequence seen by this gateway picks a replica by rendezvous hashing of
 *   the id over the usable replicas of the version (so gateways that share a table agree without
 *   talking, and a new replica takes only its fair share of new sequences).
 * - The choice is remembered (a bounded LRU) and kept as long as that replica stays usable, even
 *   when replicas are added; when it goes down, the sequence is re-hashed over the rest (its state
 *   is lost with the worker: the next request without START is refused there, as by Triton).
 *
 * Ids are keyed by kind, as Triton does: the integer 1000 and the string "1000" are different
 * sequences. Each lane reads the id from its own wire form into the key `sequenceKeyOf` gives: REST
 * from the JSON header of an uncompressed body (rest/rest-sequence-key.ts), gRPC from the
 * `parameters` map (field 4) of a `ModelInferRequest` (grpc/grpc-sequence-key.ts). A request whose
 * id cannot be read cheaply (a compressed REST body) is routed as any other request.
 */
import type { Endpoint } from './endpoint-table.js';

/** Sticky choices remembered at most (each ~100 bytes); beyond that the least recently used go. */
export const MAX_STICKY_SEQUENCES = 100_000;

/** `sequence_id` of a decoded request's parameters as an affinity key; undefined for none, 0 or "". */
export function sequenceKeyOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : `s:${value}`;
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? `u:${value}` : undefined;
  if (typeof value === 'bigint') return value === 0n ? undefined : `u:${BigInt.asUintN(64, value)}`;
  return undefined;
}

/** FNV-1a (32-bit) of `text`, then a final avalanche so close keys spread. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** The replica with the highest hash of (key, replica): stable while the candidates are. */
export function rendezvous(key: string, candidates: readonly Endpoint[]): Endpoint | undefined {
  let best: Endpoint | undefined;
  let bestScore = -1;
  for (const endpoint of candidates) {
    const score = hash(`${key}\n${endpoint.key}`);
    if (score > bestScore || (score === bestScore && best !== undefined && endpoint.key < best.key)) {
      best = endpoint;
      bestScore = score;
    }
  }
  return best;
}

/** The remembered replica of each live sequence (model, version and id), least recently used first. */
export class StickySequences {
  private readonly chosen = new Map<string, string>();

  constructor(private readonly capacity = MAX_STICKY_SEQUENCES) {}

  get size(): number {
    return this.chosen.size;
  }

  /** The replica for `key` among `usable`: the remembered one while usable, else a rendezvous pick (remembered). */
  choose(key: string, usable: readonly Endpoint[]): Endpoint | undefined {
    const remembered = this.chosen.get(key);
    let endpoint = remembered === undefined ? undefined : usable.find((e) => e.key === remembered);
    endpoint ??= rendezvous(key, usable);
    if (!endpoint) return undefined;
    this.chosen.delete(key);
    this.chosen.set(key, endpoint.key);
    if (this.chosen.size > this.capacity) this.chosen.delete(this.chosen.keys().next().value!);
    return endpoint;
  }
}

/**
 * Runs the tasks of one key one after the other, in call order (tasks of different keys, and
 * tasks without a key, run at once). The gateway's stream relay sends each stream message as its
 * own call, so without this two requests of one sequence could reach the worker out of order.
 */
export class SequenceOrder {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string | undefined, task: () => Promise<T>): Promise<T> {
    if (key === undefined) return task();
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
