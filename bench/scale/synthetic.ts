/**
 * Synthetic cluster snapshots for the scale benchmark: N workers of 64 GiB and M models of 1–3
 * replicas and 20–520 MiB each (seeded, so every run places the same cluster).
 */
import type { ModelDeployment, NodeInfo } from '../../src/cluster/index.js';
import { seededRandom } from '../../src/core/index.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

export const WORKER_MEMORY_BYTES = 64 * GiB;

export function workerId(i: number): string {
  return `w${String(i).padStart(5, '0')}`;
}

export function syntheticWorkers(count: number): NodeInfo[] {
  return Array.from({ length: count }, (_, i) => ({
    id: workerId(i),
    httpAddress: `10.0.${(i >> 8) & 255}.${i & 255}:8000`,
    grpcAddress: `10.0.${(i >> 8) & 255}.${i & 255}:8001`,
    memoryCapacityBytes: WORKER_MEMORY_BYTES,
    labels: {},
    startedAt: 0,
  }));
}

export function syntheticModels(count: number, seed = 18): ModelDeployment[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => ({
    name: `model-${String(i).padStart(5, '0')}`,
    replicas: 1 + Math.floor(random() * 3),
    memoryBytes: Math.round((20 + random() * 500) * MiB),
    memoryMeasured: false,
  }));
}
