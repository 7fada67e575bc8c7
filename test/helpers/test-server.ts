/**
 * Starts a real model server in the test process on free loopback ports (HTTP, gRPC, metrics),
 * with real ONNX Runtime workers behind it, and stops it afterwards.
 */
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import { ModelServer, type BoundPorts, type ModelServerOptions } from '../../src/composition/model-server.js';

export interface TestServer {
  readonly server: ModelServer;
  readonly ports: BoundPorts;
  /** `http://127.0.0.1:<http port>` */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startTestServer(options: Partial<ModelServerOptions> & { modelRepository: string }): Promise<TestServer> {
  const server = new ModelServer({
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    controlMode: 'none',
    pollSeconds: 1,
    loadModels: [],
    httpMaxBodyBytes: 64 * 1024 * 1024,
    grpcMaxMessageBytes: 64 * 1024 * 1024,
    logger: createLogger((process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent'),
    ...options,
  });
  const ports = await server.start();
  return { server, ports, url: `http://127.0.0.1:${ports.http}`, stop: () => server.stop() };
}

/** Polls `check` every 50 ms until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
