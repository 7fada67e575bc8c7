/**
 * The connection of a cluster component (worker, controller, gateway) to its coordination store
 * (ZooKeeper or the embedded store): the current session state, and how often each state was
 * entered — a worker that keeps losing its session shows here before it shows anywhere else.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { SessionState } from './store/coordination-store.js';

export const SESSION_STATES: readonly SessionState[] = ['connected', 'disconnected', 'expired'];

/** What this module reads from a `CoordinationStore`. */
export interface SessionSource {
  readonly sessionState: SessionState;
  onSessionState(listener: (state: SessionState) => void): () => void;
}

export interface CoordinationMetrics {
  /** Stops listening to the store. */
  close(): void;
}

export function createCoordinationMetrics(registry: Registry, store: SessionSource): CoordinationMetrics {
  const state: Gauge<'state'> = new Gauge({
    name: 'cranberries_coordination_session_state',
    help: 'Session with the coordination store (ZooKeeper): 1 for the current state (connected, disconnected, expired), 0 for the others.',
    labelNames: ['state'],
    registers: [registry],
    collect: () => {
      for (const s of SESSION_STATES) state.set({ state: s }, store.sessionState === s ? 1 : 0);
    },
  });
  const transitions = new Counter<'state'>({
    name: 'cranberries_coordination_session_transitions_total',
    help: 'Times the session with the coordination store entered each state.',
    labelNames: ['state'],
    registers: [registry],
  });
  for (const s of SESSION_STATES) transitions.inc({ state: s }, 0);
  const unsubscribe = store.onSessionState((s) => transitions.inc({ state: s }));
  return { close: unsubscribe };
}
