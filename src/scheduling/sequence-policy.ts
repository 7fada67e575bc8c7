/**
 * Which queued requests of one model instance's sequence slots form its next execution, as a pure
 * decision (Triton's sequence batcher rules, without its threads). Every live sequence is bound to
 * one slot of one instance for its life; each slot offers at most its oldest queued request (a
 * sequence's requests run in order, one execution at a time).
 *
 * - `direct`: the batch row of a request is its slot number. Rows run from slot 0 up to the highest
 *   slot that offers a request; a slot in between that offers none (or a request whose shape cannot
 *   join) is a padding row the model sees with READY false. With `max_queue_delay_microseconds`,
 *   the batch waits (at most that long after its oldest request) until the slots offering a request
 *   reach `minimum_slot_utilization` of the instance's slots.
 * - `oldest`: the oldest offered requests, one per sequence, joined like the dynamic batcher
 *   (`BatchPolicy`: cap at `max_batch_size` or the largest preferred size, preferred sizes,
 *   `max_queue_delay_microseconds`), in age order; no padding.
 */
import type { Tensor } from '../tensors/index.js';
import { canBatchTogether } from './batch-assembly.js';
import type { BatchPolicy } from './batch-policy.js';

/** What a slot offers: its sequence's oldest queued request. */
export interface SlotOffer {
  readonly slot: number;
  /** How long the request has waited, in microseconds. */
  readonly waitedUs: number;
  /** The request's client inputs, in a fixed (name) order. */
  readonly inputs: readonly Tensor[];
}

/** `rows[i]` is the slot whose request is row i, or undefined for a padding row (direct only). */
export type SequenceBatchDecision = { readonly kind: 'run'; readonly rows: readonly (number | undefined)[] } | { readonly kind: 'wait'; readonly waitUs: number } | { readonly kind: 'idle' };

export interface DirectOptions {
  readonly slotCount: number;
  readonly maxQueueDelayUs: number;
  /** Fraction of the slots that must offer a request before the delay passes (0 = any). */
  readonly minimumSlotUtilization: number;
}

const NO_OUTPUTS: readonly string[] = [];

/** `offers` in any order; at most one per slot. */
export function decideDirect(offers: readonly SlotOffer[], options: DirectOptions): SequenceBatchDecision {
  if (offers.length === 0) return { kind: 'idle' };
  const bySlot = [...offers].sort((a, b) => a.slot - b.slot);
  const oldestWaitUs = Math.max(...offers.map((o) => o.waitedUs));
  const utilization = offers.length / Math.max(1, options.slotCount);
  if (options.maxQueueDelayUs > 0 && oldestWaitUs < options.maxQueueDelayUs && utilization < options.minimumSlotUtilization) {
    return { kind: 'wait', waitUs: options.maxQueueDelayUs - oldestWaitUs };
  }
  // The lowest slot's request sets the shape; a request that cannot join waits for a later batch.
  const head = bySlot[0]!;
  const joined = bySlot.filter((offer) => offer === head || canBatchTogether(head.inputs, NO_OUTPUTS, offer.inputs, NO_OUTPUTS));
  const highest = joined[joined.length - 1]!.slot;
  const taken = new Set(joined.map((o) => o.slot));
  const rows = Array.from({ length: highest + 1 }, (_, slot) => (taken.has(slot) ? slot : undefined));
  return { kind: 'run', rows };
}

/** `offers` in any order; the batch is the oldest ones as `policy` decides. */
export function decideOldest(offers: readonly SlotOffer[], policy: BatchPolicy): SequenceBatchDecision {
  if (offers.length === 0) return { kind: 'idle' };
  const byAge = [...offers].sort((a, b) => b.waitedUs - a.waitedUs || a.slot - b.slot);
  const decision = policy.decide(byAge, (offer) => ({ rows: 1, inputs: offer.inputs, outputNames: NO_OUTPUTS }), byAge[0]!.waitedUs);
  if (decision.kind === 'wait') return decision;
  return { kind: 'run', rows: byAge.slice(0, decision.count).map((o) => o.slot) };
}
