/**
 * Leader election on a coordination store (the ZooKeeper recipe): every candidate creates an
 * ephemeral-sequential node under the election folder; the lowest sequence leads; every other
 * candidate watches only its predecessor (no herd effect when the leader dies) and re-checks when
 * that node goes.
 *
 * Leadership is given up as soon as the store is disconnected or the session expires — a
 * candidate that cannot reach the store cannot know whether it still leads — and re-checked when
 * the store is connected again (on a new session the candidate's node is created again, at the
 * back of the line). `leadershipChanged` reports every change.
 */
import { EventChannel } from '../core/index.js';
import type { Lifecycle, Logger } from '../core/index.js';
import type { CoordinationStore } from './store/coordination-store.js';

export interface LeaderElectionOptions {
  readonly store: CoordinationStore;
  /** The election folder, e.g. `/cranberries/election`. */
  readonly path: string;
  /** Who this candidate is (stored in its node, shown in logs). */
  readonly candidate: string;
  readonly logger?: Logger | undefined;
  /** Delay before retrying after an unexpected store error. Default 1 s. */
  readonly retryMs?: number;
}

const PREFIX = 'n_';

export class LeaderElection implements Lifecycle {
  readonly leadershipChanged = new EventChannel<boolean>();
  private leader = false;
  private stopped = true;
  /** This candidate's node name, while it has one. */
  private me: string | undefined;
  private unwatchPredecessor: (() => void) | undefined;
  private unsubscribeSession: (() => void) | undefined;
  private checking: Promise<void> | undefined;
  private recheck = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LeaderElectionOptions) {}

  get isLeader(): boolean {
    return this.leader;
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribeSession = this.options.store.onSessionState((state) => {
      if (state === 'expired') this.me = undefined; // its ephemeral node is gone with the session
      if (state === 'connected') void this.check();
      else this.setLeader(false, `coordination store ${state}`);
    });
    await this.check();
  }

  /** Steps down and withdraws the candidacy (the next candidate takes over at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.unsubscribeSession?.();
    this.unwatchPredecessor?.();
    this.unwatchPredecessor = undefined;
    await this.checking;
    this.setLeader(false, 'stopping');
    const me = this.me;
    this.me = undefined;
    if (me) await this.options.store.remove(`${this.options.path}/${me}`).catch(() => {});
  }

  /** Runs the election check; calls during a check queue exactly one more. */
  private check(): Promise<void> {
    if (this.checking) {
      this.recheck = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.recheck = false;
        await this.checkOnce().catch((error: unknown) => this.retryLater(error));
      } while (this.recheck && !this.stopped);
    })().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private async checkOnce(): Promise<void> {
    const { store, path, candidate } = this.options;
    if (this.stopped || store.sessionState !== 'connected') return;
    await store.ensurePath(path);
    let line = await this.candidates();
    if (!this.me || !line.includes(this.me)) {
      const created = await store.create(`${path}/${PREFIX}`, new TextEncoder().encode(candidate), 'ephemeral-sequential');
      this.me = created.slice(created.lastIndexOf('/') + 1);
      line = await this.candidates();
    }
    if (this.stopped) return;
    const position = line.indexOf(this.me);
    this.unwatchPredecessor?.();
    this.unwatchPredecessor = undefined;
    if (position === 0) {
      this.setLeader(true, 'lowest candidate');
      return;
    }
    this.setLeader(false, position < 0 ? 'candidacy lost' : 'waiting behind a predecessor');
    if (position < 0) {
      this.recheck = true;
      return;
    }
    const predecessor = `${path}/${line[position - 1]}`;
    this.unwatchPredecessor = store.watch(predecessor, () => void this.check());
    // The predecessor may have gone before the watch was armed; the watch covers anything later.
    if ((await store.get(predecessor)) === undefined) this.recheck = true;
  }

  private async candidates(): Promise<string[]> {
    const children = await this.options.store.children(this.options.path);
    // Sequence suffixes are fixed-width, so name order is sequence order.
    return children.filter((c) => c.startsWith(PREFIX)).sort();
  }

  private retryLater(error: unknown): void {
    if (this.stopped) return;
    if (this.options.store.sessionState === 'connected') {
      this.options.logger?.warn({ err: String(error) }, 'leader election check failed; retrying');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.check(), this.options.retryMs ?? 1000);
    }
    // Otherwise the next `connected` state runs the check again.
  }

  private setLeader(leader: boolean, why: string): void {
    if (this.leader === leader) return;
    this.leader = leader;
    this.options.logger?.info({ candidate: this.options.candidate, node: this.me, leader, why }, leader ? 'became the leader' : 'no longer the leader');
    this.leadershipChanged.publish(leader);
  }
}
