/**
 * Synthetic cluster snapshots for the scale benchmark: N workers of 64 GiB and M models of 1–3
 * replicas and 20–520 MiB each (seeded, so every run places the same cluster).
 */
import type { ModelDeployment, NodeInfo } from '../../src/cluster/index.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

export const WORKER_MEMORY_BYTES = 64 * GiB;

export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
