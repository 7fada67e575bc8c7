/**
 * An in-process cluster worker for tests: loopback, free ports, small message limits. Tests give
 * what matters to them (store, node id, capacity, repository, logger) and override anything else.
 */
import { startWorkerNode, type WorkerNode, type WorkerNodeOptions } from '../../src/composition/worker-node.js';

type Required = Pick<WorkerNodeOptions, 'store' | 'memoryCapacityBytes' | 'modelRepository' | 'logger'>;

export function startTestWorker(options: Required & Partial<WorkerNodeOptions>): Promise<WorkerNode> {
  return startWorkerNode({
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    controlMode: 'none',
    pollSeconds: 1,
    httpMaxBodyBytes: 1 << 20,
    grpcMaxMessageBytes: 1 << 20,
    ...options,
  });
}
