/**
 * The cluster's public surface: coordination stores, the shared layout, placement, the controller,
 * the worker agent and the admin API. Other folders import from here.
 */
export type { CoordinationStore, CreateMode, SessionState, StoreNode, WatchOptions, StoreWrite, StoreWriteOutcome } from './store/coordination-store.js';
export { MemoryStore, MemoryStoreServer } from './store/memory-store.js';
export { ZooKeeperStore, type ZooKeeperStoreOptions } from './store/zookeeper-store.js';
export { parseZooKeeperAddress, type ZooKeeperAddress } from './store/zookeeper-address.js';
export * from './layout.js';
export { readSnapshot, readChildren, readJson, watchChildren, ensureLayout, type ClusterSnapshot, type Versioned, coalesce, FolderCache, SnapshotCache } from './cluster-state.js';
export { place, placeInSlices, replicaReady, type PlacementInput, type PlacementResult, type PlacementDecision } from './placement.js';
export { runInSlices, runAtOnce, forEachInSlices, yieldToEventLoop, type SliceOptions } from './event-loop-slices.js';
export { parseMemorySize, formatBytes } from './memory-size.js';
export { LeaderElection, type LeaderElectionOptions } from './leader-election.js';
export { Controller, type ControllerOptions } from './controller.js';
export { deploymentsFromRepository, DEFAULT_MEMORY_FACTOR } from './repository-deployments.js';
export { AssignmentSelection } from './assignment-selection.js';
export { WorkerAgent, type WorkerAgentOptions, type WorkerAddresses } from './worker-agent.js';
export { ClusterAdmin, type ClusterAdminOptions, type ModelView, type NodeView, type ReplicaView, type ReplicaState } from './admin-api.js';
export { clusterAdminRoutes, type ClusterAdminRoutesOptions } from './admin-routes.js';
export { ControllerMetrics } from './controller-metrics.js';
export type { PlacementRound } from './controller-metrics.js';
export { createCoordinationMetrics } from './coordination-metrics.js';
export type { CoordinationMetrics } from './coordination-metrics.js';
export { parseZooKeeperAuth, zooKeeperAuthFrom, ZOOKEEPER_AUTH_ENV } from './store/zookeeper-auth.js';
export type { ZooKeeperAuth } from './store/zookeeper-auth.js';
export { WorkerMetrics } from './worker-metrics.js';
export { startZooKeeperProcess } from './zookeeper-process.js';
export type { ZooKeeperProcess } from './zookeeper-process.js';
