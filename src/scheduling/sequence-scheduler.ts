/**
 * The scheduler of a sequence model version (`sequence_batching`), Triton's sequence batcher:
 *
 * - Every request names its sequence (`sequence_id`); the first request of a sequence carries
 *   `sequence_start`, the last `sequence_end`. A request without an id, or a request for a sequence
 *   that is not live and does not start one, is refused with Triton's messages.
 * - A new sequence is bound to a free slot of one instance for its life (the instance with the
 *   fewest live sequences). Slots per instance: `max_batch_size` (direct) or
 *   `max_candidate_sequences` (oldest); at least 1. A sequence that finds no free slot waits in a
 *   backlog, in arrival order, until a sequence ends or is released.
 * - A sequence's requests run in arrival order, one execution at a time. Which requests of an
 *   instance's slots form a batch is `sequence-policy.ts` (direct / oldest).
 * - The scheduler writes the control inputs (START / END / READY / CORRID, `sequence-controls.ts`)
 *   into every batch row, and carries implicit state (`sequence-state.ts`) from one request of a
 *   sequence to the next.
 * - A sequence without a request for `max_sequence_idle_microseconds` (default 1 s) and nothing
 *   queued or running is released: its slot goes to the backlog, its state is dropped, and its next
 *   request must start it again.
 *
 * Sequence models have no queue policy in Triton: requests wait until their sequence's turn (a
 * client's cancellation still removes a queued request).
 */
import { CranberriesError, asCranberriesError, invalidArgument, unavailable } from '../core/index.js';
import type { ModelInstance } from '../backends/index.js';
import { arrayTypeOf } from '../tensors/index.js';
import type { Tensor } from '../tensors/index.js';
import type { ModelSequenceBatching } from '../repository/index.js';
import { splitOutputs } from './batch-assembly.js';
import { BatchPolicy } from './batch-policy.js';
import { checkCorrelationId, controlTensors, type ControlPlan, type CorrelationId } from './sequence-controls.js';
import { formatCorrelationId } from './sequence-parameters.js';
import { decideDirect, decideOldest, type SequenceBatchDecision, type SlotOffer } from './sequence-policy.js';
import { fedCopy, initialState, keptState, type StateSpec } from './sequence-state.js';
import type { ExecutionRecord, ScheduledRequest, ScheduledResult, Scheduler } from './scheduler.js';

/** Triton's default `max_sequence_idle_microseconds`. */
export const DEFAULT_SEQUENCE_IDLE_US = 1_000_000;

export interface SequenceSchedulerOptions {
  readonly model: string;
  /** `max_batch_size`; 0 = the model does not batch (one request per execution). */
  readonly maxBatchRows: number;
  readonly sequence: ModelSequenceBatching;
  readonly controls: ControlPlan;
  readonly states: readonly StateSpec[];
}

interface Entry {
  readonly request: ScheduledRequest;
  readonly sequence: Sequence;
  readonly start: boolean;
  readonly end: boolean;
  /** Client inputs sorted by name, so rows of different clients line up. */
  readonly inputs: readonly Tensor[];
  readonly enqueuedNs: bigint;
  resolve(result: ScheduledResult): void;
  reject(error: Error): void;
  cleanup(): void;
}

interface Sequence {
  readonly id: CorrelationId;
  readonly key: string;
  readonly queue: Entry[];
  slot: Slot | undefined;
  /** The kept implicit state, in `states` order; undefined until a request ran. */
  state: Tensor[] | undefined;
  lastActiveMs: number;
  /** Its END request was received: the id no longer maps to it. */
  endReceived: boolean;
  running: boolean;
}

interface Slot {
  readonly lane: Lane;
  readonly index: number;
}

/** One instance and its sequence slots. */
interface Lane {
  readonly instance: ModelInstance;
  readonly slots: (Sequence | undefined)[];
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
}

const keyOf = (id: CorrelationId): string => (typeof id === 'bigint' ? `u:${id}` : `s:${id}`);

export class SequenceScheduler implements Scheduler {
  /** Live sequences by correlation id (a sequence leaves on END or release). */
  private readonly sequences = new Map<string, Sequence>();
  /** Sequences waiting for a slot, oldest first. */
  private readonly backlog: Sequence[] = [];
  private readonly lanes: Lane[];
  private readonly batching: boolean;
  private readonly idleUs: number;
  private readonly oldest: BatchPolicy | undefined;
  private queued = 0;
  private executing = 0;
  private reaper: NodeJS.Timeout | undefined;
  private draining: (() => void) | undefined;
  private closed = false;

  constructor(
    instances: readonly ModelInstance[],
    private readonly options: SequenceSchedulerOptions,
    private readonly onExecution: (record: ExecutionRecord) => void = () => {},
  ) {
    const { sequence, maxBatchRows } = options;
    this.batching = maxBatchRows > 0;
    this.idleUs = sequence.max_sequence_idle_microseconds > 0 ? sequence.max_sequence_idle_microseconds : DEFAULT_SEQUENCE_IDLE_US;
    const oldest = sequence.oldest;
    const slotCount = oldest ? Math.max(1, oldest.max_candidate_sequences || maxBatchRows) : Math.max(1, maxBatchRows);
    this.oldest = oldest
      ? new BatchPolicy({ maxBatchRows: Math.max(1, maxBatchRows), preferredBatchRows: oldest.preferred_batch_size, maxQueueDelayUs: oldest.max_queue_delay_microseconds })
      : undefined;
    this.lanes = instances.map((instance) => ({ instance, slots: new Array<Sequence | undefined>(slotCount).fill(undefined), busy: false, timer: undefined }));
  }

  get queueDepth(): number {
    return this.queued;
  }

  /** Sequences holding a slot or waiting for one. */
  get liveSequences(): number {
    return this.lanes.reduce((n, lane) => n + lane.slots.filter((s) => s !== undefined).length, 0) + this.backlog.length;
  }

  submit(request: ScheduledRequest): Promise<ScheduledResult> {
    if (this.closed) return Promise.reject(unavailable('the model version is unloading'));
    const model = this.options.model;
    if (request.rows > 1) {
      return Promise.reject(invalidArgument(`inference request to model '${model}' must specify batch-size 1 due to requirements of sequence batcher`));
    }
    const flags = request.sequence;
    const id = flags?.id;
    if (id === undefined) return Promise.reject(invalidArgument(`inference request to model '${model}' must specify a non-zero or non-empty correlation ID`));
    try {
      checkCorrelationId(this.options.controls, id, model);
    } catch (error) {
      return Promise.reject(asCranberriesError(error));
    }
    const start = flags!.start;
    const end = flags!.end;
    const key = keyOf(id);
    let sequence = this.sequences.get(key);
    if (!sequence && !start) {
      return Promise.reject(invalidArgument(`inference request for sequence ${formatCorrelationId(id)} to model '${model}' must specify the START flag on the first request of the sequence`));
    }
    if (request.signal?.aborted) return Promise.reject(new CranberriesError('CANCELLED', 'the request was cancelled'));
    if (!sequence) {
      sequence = { id, key, queue: [], slot: undefined, state: undefined, lastActiveMs: Date.now(), endReceived: false, running: false };
      this.sequences.set(key, sequence);
      this.bind(sequence);
    }
    // After END the id is free again: a later request must START a new sequence.
    if (end) {
      sequence.endReceived = true;
      this.sequences.delete(key);
    }
    sequence.lastActiveMs = Date.now();
    const owner = sequence;
    return new Promise<ScheduledResult>((resolve, reject) => {
      const onAbort = (): void => this.cancel(entry);
      const entry: Entry = {
        request,
        sequence: owner,
        start,
        end,
        inputs: [...request.inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
        enqueuedNs: process.hrtime.bigint(),
        resolve,
        reject,
        cleanup: () => request.signal?.removeEventListener('abort', onAbort),
      };
      request.signal?.addEventListener('abort', onAbort, { once: true });
      owner.queue.push(entry);
      this.queued++;
      this.armReaper();
      if (owner.slot) this.dispatch(owner.slot.lane);
    });
  }

  drain(): Promise<void> {
    this.closed = true;
    if (this.queued === 0 && this.executing === 0) {
      this.stopTimers();
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.draining = resolve));
  }

  /** A free slot for a new sequence, on the instance with the fewest live sequences; else the backlog. */
  private bind(sequence: Sequence): void {
    let best: Slot | undefined;
    let bestLoad = Infinity;
    for (const lane of this.lanes) {
      const free = lane.slots.indexOf(undefined);
      if (free < 0) continue;
      const load = lane.slots.filter((s) => s !== undefined).length;
      if (load < bestLoad) {
        best = { lane, index: free };
        bestLoad = load;
      }
    }
    if (!best) {
      this.backlog.push(sequence);
      return;
    }
    best.lane.slots[best.index] = sequence;
    sequence.slot = best;
  }

  /** Frees a sequence's slot; the oldest backlogged sequence takes it. */
  private unbind(sequence: Sequence): void {
    const slot = sequence.slot;
    if (!slot) {
      const index = this.backlog.indexOf(sequence);
      if (index >= 0) this.backlog.splice(index, 1);
      return;
    }
    sequence.slot = undefined;
    sequence.state = undefined;
    const next = this.backlog.shift();
    slot.lane.slots[slot.index] = next;
    if (next) next.slot = slot;
    this.dispatch(slot.lane);
  }

  private cancel(entry: Entry): void {
    const queue = entry.sequence.queue;
    const index = queue.indexOf(entry);
    if (index < 0) return;
    queue.splice(index, 1);
    this.queued--;
    entry.cleanup();
    entry.reject(new CranberriesError('CANCELLED', 'the request was cancelled before it ran'));
    // A cancelled END still ends the sequence once what is before it has run.
    if (entry.end) this.endIfDone(entry.sequence);
    if (entry.sequence.slot) this.dispatch(entry.sequence.slot.lane);
    this.checkDrained();
  }

  private endIfDone(sequence: Sequence): void {
    if (sequence.endReceived && sequence.queue.length === 0 && !sequence.running) this.unbind(sequence);
  }

  private dispatch(lane: Lane): void {
    if (lane.busy) return;
    const now = process.hrtime.bigint();
    const offers: SlotOffer[] = [];
    lane.slots.forEach((sequence, slot) => {
      const head = sequence?.queue[0];
      if (head) offers.push({ slot, waitedUs: Number(now - head.enqueuedNs) / 1000, inputs: head.inputs });
    });
    const decision: SequenceBatchDecision = this.oldest
      ? decideOldest(offers, this.oldest)
      : decideDirect(offers, {
          slotCount: lane.slots.length,
          maxQueueDelayUs: this.options.sequence.direct?.max_queue_delay_microseconds ?? 0,
          minimumSlotUtilization: this.options.sequence.direct?.minimum_slot_utilization ?? 0,
        });
    if (decision.kind === 'idle') return;
    if (decision.kind === 'wait') {
      lane.timer ??= setTimeout(
        () => {
          lane.timer = undefined;
          this.dispatch(lane);
        },
        Math.max(1, Math.ceil(decision.waitUs / 1000)),
      );
      return;
    }
    if (lane.timer) clearTimeout(lane.timer);
    lane.timer = undefined;
    const rows = decision.rows.map((slot) => {
      if (slot === undefined) return undefined;
      const sequence = lane.slots[slot]!;
      const entry = sequence.queue.shift()!;
      this.queued--;
      sequence.running = true;
      entry.cleanup();
      return entry;
    });
    void this.run(lane, rows);
  }

  /** The model inputs of one batch row: client inputs, control inputs, implicit state. */
  private rowInputs(entry: Entry | undefined, template: Entry): Tensor[] {
    const { controls, states } = this.options;
    if (!entry) {
      // A padding row: zeros shaped like a real row, READY false, a fresh state.
      const zeros = template.inputs.map((t): Tensor => ({ ...t, data: Array.isArray(t.data) ? t.data.map(() => new Uint8Array(0)) : new (arrayTypeOf(t.datatype))(t.data.length) }));
      const control = controlTensors(controls, { start: false, end: false, ready: false, correlationId: undefined }, this.batching);
      return [...zeros, ...control, ...states.map((spec) => initialState(spec, this.batching))];
    }
    const control = controlTensors(controls, { start: entry.start, end: entry.end, ready: true, correlationId: entry.sequence.id }, this.batching);
    const kept = entry.start ? undefined : entry.sequence.state;
    const state = states.map((spec, i) => (kept?.[i] ? fedCopy(kept[i]) : initialState(spec, this.batching)));
    return [...entry.inputs, ...control, ...state];
  }

  private async run(lane: Lane, rows: readonly (Entry | undefined)[]): Promise<void> {
    lane.busy = true;
    this.executing++;
    const startedNs = process.hrtime.bigint();
    const entries = rows.filter((e): e is Entry => e !== undefined);
    const template = entries[0]!;
    const { states } = this.options;
    const outputNames = [...new Set([...entries.flatMap((e) => e.request.outputNames), ...states.map((s) => s.outputName)])];
    try {
      const result = await lane.instance.execute(
        rows.map((entry) => this.rowInputs(entry, template)),
        outputNames,
      );
      const split = splitOutputs(
        result.outputs,
        rows.map(() => 1),
      );
      this.onExecution({ batchRows: rows.length, requests: entries.length, timing: result.timing });
      rows.forEach((entry, i) => {
        if (!entry) return;
        const outputs = split[i]!;
        if (states.length > 0) {
          entry.sequence.state = states.map((spec) => {
            const produced = outputs.find((t) => t.name === spec.outputName);
            if (!produced) throw new CranberriesError('INTERNAL', `the model produced no state output '${spec.outputName}'`);
            return keptState(spec, produced);
          });
        }
        const wanted = new Set(entry.request.outputNames);
        entry.resolve({ outputs: outputs.filter((t) => wanted.has(t.name)), timing: result.timing, queueNs: Number(startedNs - entry.enqueuedNs), batchRows: rows.length });
      });
    } catch (error) {
      const failure = asCranberriesError(error);
      for (const entry of entries) entry.reject(failure);
    } finally {
      for (const entry of entries) {
        entry.sequence.running = false;
        entry.sequence.lastActiveMs = Date.now();
        this.endIfDone(entry.sequence);
      }
      this.executing--;
      lane.busy = false;
      this.dispatch(lane);
      this.checkDrained();
    }
  }

  /** Releases sequences idle longer than `max_sequence_idle_microseconds`; re-arms while any is live. */
  private reap(): void {
    this.reaper = undefined;
    const now = Date.now();
    const idleMs = this.idleUs / 1000;
    let nextMs = Infinity;
    const live = [...this.lanes.flatMap((lane) => lane.slots), ...this.backlog].filter((s): s is Sequence => s !== undefined);
    for (const sequence of live) {
      if (sequence.running || sequence.queue.length > 0) {
        nextMs = Math.min(nextMs, idleMs);
        continue;
      }
      const left = sequence.lastActiveMs + idleMs - now;
      if (left > 0) {
        nextMs = Math.min(nextMs, left);
        continue;
      }
      if (this.sequences.get(sequence.key) === sequence) this.sequences.delete(sequence.key);
      this.unbind(sequence);
    }
    if (nextMs !== Infinity) this.armReaper(nextMs);
  }

  private armReaper(delayMs = this.idleUs / 1000): void {
    if (this.reaper || this.closed) return;
    this.reaper = setTimeout(() => this.reap(), Math.max(1, Math.ceil(delayMs)));
    this.reaper.unref();
  }

  private stopTimers(): void {
    if (this.reaper) clearTimeout(this.reaper);
    this.reaper = undefined;
    for (const lane of this.lanes) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = undefined;
    }
  }

  private checkDrained(): void {
    if (this.draining && this.queued === 0 && this.executing === 0) {
      this.stopTimers();
      this.draining();
      this.draining = undefined;
    }
  }
}
