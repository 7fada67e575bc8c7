/** What other folders use of load-generator/ (kept by scripts/index-imports.mjs). */
export { parseInputFlag, parseShapeFlag } from './bench-inputs.js';
export type { InputFlag } from './bench-inputs.js';
export { formatReport } from './bench-report.js';
export { runBench } from './bench-runner.js';
export { GrpcTransport } from './grpc-transport.js';
export type { LoadMode } from './load-generator.js';
export { parseConcurrency } from './load-levels.js';
export { ProgressBar } from './progress-bar.js';
export { RestTransport } from './rest-transport.js';
export { BENCH_PROTOCOLS } from './transport.js';
export type { BenchProtocol, BenchTransport } from './transport.js';
