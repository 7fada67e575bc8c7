/**
 * The folder boundaries of src/, checked by dependency-cruiser in `npm test` (scripts/test.mjs) and
 * explained in ARCHITECTURE.md.
 *
 * A "folder" is a direct child of src/ (src/core, src/serving, ...), except under src/protocols
 * where each sub-folder (common, http, grpc, tfserving) is a folder of its own: the protocol
 * families are separate adapters. Sub-folders elsewhere (cluster/store, backends/onnx,
 * gateway/testing) belong to their parent.
 *
 * The rules are about production code: tests (`*.test.ts`, test/) and test support (`testing/`
 * folders, test harnesses and clients) are left out of the cruise, as they import across layers on
 * purpose (a route-coverage test builds the HTTP app and the cluster admin routes together).
 *
 * Rules:
 * - layer: a folder imports only folders of LOWER layers (never a higher one, never another folder of
 *   its own layer).
 * - no-file-cycle / no-folder-cycle: no import cycle between files, nor between directories.
 * - through-index: an import from another folder names that folder's `index.ts`
 *   (scripts/index-imports.mjs rewrites imports to follow it).
 */

/** Lowest first. A folder may import the folders of the layers before its own. */
const LAYERS = [
  ['core'], // errors, logger and log settings, events, lifecycle, bounded text, parameters
  ['tensors', 'tls'], // tensors and data types; TLS files and their watcher
  ['repository', 'client'], // model repository and configs; the client SDK (over tensors and tls)
  ['backends', 'sources'], // the backend contract, ONNX Runtime and Python in worker threads / processes; where model configs come from
  ['scheduling', 'tracing'], // batching and sequence schedulers; the request tracer
  ['serving'], // InferenceService, ServingCore, ModelManager
  ['access', 'shared-memory', 'protocols/common'], // who may call what; shm regions; ids and listener limits
  ['protocols/http', 'protocols/grpc'], // the OIP adapters
  ['protocols/tfserving'], // TF Serving REST and gRPC (uses the generic HTTP and gRPC servers)
  ['metrics'], // Prometheus / Graphite over serving stats; the metrics listener
  ['cluster'], // store, controller, placement, worker agent, cluster metrics
  ['gateway', 'load-generator', 'admin'], // the cluster gateway's parts; `cranberries bench`'s load generator (a client of the protocols); the administration UI's feed and routes
  ['composition'], // wires the processes: model server, worker node, standalone server, controller, gateway, admin service
  ['cli', 'index.ts'], // commands and flags; the package entry point
];

const TEST_FILES = '(\\.test\\.ts$|/testing/|-test-harness\\.ts$|-test-client\\.ts$)';

/** The path pattern of one folder: `src/<folder>/`, or the file itself for `index.ts`. */
function folderPattern(folder) {
  return folder.endsWith('.ts') ? `^src/${folder.replace('.', '\\.')}$` : `^src/${folder}/`;
}

const layerRules = LAYERS.flatMap((layer, rank) =>
  layer.map((folder) => {
    const notBelow = LAYERS.slice(rank)
      .flat()
      .filter((other) => other !== folder);
    return {
      name: `layer:${folder}`,
      comment: `${folder} may import only ${LAYERS.slice(0, rank).flat().join(', ') || 'nothing of src'} (lower layers; ARCHITECTURE.md)`,
      severity: 'error',
      from: { path: folderPattern(folder) },
      to: { path: `(${notBelow.map(folderPattern).join('|')})` },
    };
  }),
);

/** Every folder of src/ must be placed in LAYERS: a new folder gets a layer before it gets code. */
const known = LAYERS.flat().map(folderPattern).join('|');

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'unplaced-folder',
      comment: 'every folder of src/ has a layer in .dependency-cruiser.cjs (LAYERS)',
      severity: 'error',
      from: { path: '^src/', pathNot: `(${known})` },
      to: {},
    },
    {
      name: 'no-file-cycle',
      comment: 'no import cycle between files',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      comment: 'no import cycle between directories',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'through-index',
      comment: "an import from another folder names that folder's index.ts (scripts/index-imports.mjs rewrites them)",
      severity: 'error',
      from: { path: '^src/((?:protocols/)?[^/]+)/' },
      to: { path: '^src/', pathNot: ['^src/$1/', '^src/(?:protocols/)?[^/]+/index\\.ts$'] },
    },
    {
      name: 'through-index',
      comment: 'the package entry point (src/index.ts) imports each folder through its index.ts',
      severity: 'error',
      from: { path: '^src/index\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(?:protocols/)?[^/]+/index\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // The rules are about production code: tests and test support import across layers on purpose.
    exclude: { path: `(^dist/|^node_modules/|^test/|${TEST_FILES})` },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
