/**
 * The Dockerfile, checked without a Docker engine: its stages, that every COPY source exists (and is
 * not dropped by .dockerignore), that the image holds what the entry point needs (compiled CLI, protos,
 * package.json, models), that ENTRYPOINT/CMD form a command line our CLI accepts, that EXPOSE matches
 * the CLI's default ports, and that the HEALTHCHECK command really reports a live server as healthy
 * (run against a real server) and a stopped one as not.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { commandsOf, checkAgainstHelp, helpText, optionsOf, parseCommandLine, type HelpOption } from './cli-help.js';
import {
  DockerIgnore, copiesOf, execForm, materializeStage, parseDockerfile, resolveImagePath, splitFlags, stageNamed, workdirAt,
  type Dockerfile, type Instruction, type ResolveContext, type Stage,
} from './dockerfile.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = 'dist/src/cli/main.js';

let file: Dockerfile;
let ctx: ResolveContext;
let runtime: Stage;
let commands: string[];
let serveOptions: Map<string, HelpOption>;

before(async () => {
  file = parseDockerfile(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
  const tsconfig = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };
  ctx = { file, contextDir: ROOT, ignore: new DockerIgnore(await readFile(join(ROOT, '.dockerignore'), 'utf8')), outDir: posix.normalize(tsconfig.compilerOptions.outDir) };
  runtime = file.stages[file.stages.length - 1]!;
  commands = commandsOf(await helpText(MAIN, ROOT));
  serveOptions = optionsOf(await helpText(MAIN, ROOT, 'serve'));
});

function only(stage: Stage, keyword: string): Instruction {
  const found = stage.instructions.filter((i) => i.keyword === keyword);
  assert.equal(found.length, 1, `the ${stage.name ?? stage.index} stage must have exactly one ${keyword}`);
  return found[0]!;
}

function positionOf(stage: Stage, keyword: string, pattern: RegExp): number {
  const position = stage.instructions.findIndex((i) => i.keyword === keyword && pattern.test(i.args));
  assert.ok(position >= 0, `the ${stage.name ?? stage.index} stage has no ${keyword} matching ${pattern}`);
  return position;
}

/** The default of a `--xxx-port` flag in `serve --help`. */
function defaultPort(flag: string): number {
  const text = serveOptions.get(flag)?.defaultText;
  assert.ok(text && /^\d+$/.test(text), `serve --help shows no numeric default for ${flag}`);
  return Number(text);
}

test('the Dockerfile builds in a node:20 bookworm-slim stage and runs from a separate runtime stage', () => {
  assert.ok(file.stages.length >= 2, 'multi-stage: a build stage and a runtime stage');
  const [build] = file.stages;
  assert.equal(build!.image, 'node:20-bookworm-slim');
  assert.equal(build!.name, 'build');
  assert.match(runtime.image, /^node:20(-|$)/, 'the runtime runs on Node.js 20');
  const names = file.stages.map((s) => s.name).filter((n) => n !== undefined);
  assert.equal(new Set(names).size, names.length, 'stage names are unique');
});

test('every COPY source exists in the build context (and is not .dockerignored) or in an earlier stage', () => {
  for (const stage of file.stages) {
    for (const copy of copiesOf(file, stage)) {
      const where = `Dockerfile line ${copy.instruction.line}`;
      if (copy.from !== undefined) {
        const source = stageNamed(file, copy.from, stage.index);
        assert.ok(source, `${where}: --from=${copy.from} names no earlier stage`);
        for (const src of copy.sources) {
          const absolute = posix.resolve(workdirAt(file, source, source.instructions.length), src);
          assert.ok(resolveImagePath(ctx, source, absolute), `${where}: ${src} is not produced by stage ${copy.from}`);
        }
      } else {
        for (const src of copy.sources) {
          assert.doesNotMatch(src, /[*?[]/, `${where}: keep COPY sources literal so they can be checked (${src})`);
          assert.ok(resolveImagePath(ctx, stage, copy.destination.endsWith('/') ? posix.join(copy.destination, posix.basename(src)) : copy.destination, copy.position + 1), `${where}: ${src} is missing from the build context`);
          assert.equal(ctx.ignore.excludedBy(src), undefined, `${where}: ${src} is excluded by .dockerignore rule '${ctx.ignore.excludedBy(src)}'`);
        }
      }
    }
  }
});

test('.dockerignore keeps local builds, dependencies, generated benchmark models and git out of the context', () => {
  for (const path of ['node_modules', 'node_modules/onnxruntime-node/package.json', 'dist', 'dist/src/cli/main.js', 'bench/models', '.git', '.git/HEAD']) {
    assert.ok(ctx.ignore.excludedBy(path), `${path} must be excluded from the build context`);
  }
});

test('the build stage installs every dependency and compiles with the sources it copied first', () => {
  const build = file.stages[0]!;
  const install = positionOf(build, 'RUN', /\bnpm ci\b/);
  const compile = positionOf(build, 'RUN', /\bnpm run build\b|\btsc\b/);
  assert.ok(install < compile, 'npm ci runs before the build');
  assert.doesNotMatch(build.instructions[install]!.args, /--omit=dev|--production/, 'the build needs dev dependencies (typescript)');
  // npm ci needs the lockfile; .npmrc carries the project's npm settings.
  for (const needed of ['package.json', 'package-lock.json', '.npmrc']) {
    assert.ok(resolveImagePath(ctx, build, posix.join(workdirAt(file, build, install), needed), install), `${needed} is copied before npm ci`);
  }
  for (const needed of ['tsconfig.json', 'src/cli/main.ts', 'src/core/version.ts']) {
    assert.ok(resolveImagePath(ctx, build, posix.join(workdirAt(file, build, compile), needed), compile), `${needed} is copied before the build`);
  }
});

test('every file the build stage compiles finds its relative imports in that stage', async () => {
  // tsc compiles whatever its include globs find in the stage; an import of a file the stage lacks
  // (say, a unit test importing test/helpers while test/ is left out of the context) breaks the build.
  const build = file.stages[0]!;
  const compile = positionOf(build, 'RUN', /\bnpm run build\b|\btsc\b/);
  const workdir = workdirAt(file, build, compile);
  const inStage = (relative: string): boolean => resolveImagePath(ctx, build, posix.join(workdir, relative), compile)?.kind === 'context';
  const tsconfig = JSON.parse(await readFile(join(ROOT, 'tsconfig.json'), 'utf8')) as { include: string[] };
  const roots = [...new Set(tsconfig.include.map((glob) => glob.split('/')[0]!))];
  let compiled = 0;
  for (const root of roots) {
    const entries = await readdir(join(ROOT, root), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const relative = posix.join(posix.relative(ROOT, entry.parentPath), entry.name);
      if (!entry.isFile() || !relative.endsWith('.ts') || !inStage(relative)) continue;
      compiled++;
      const source = await readFile(join(ROOT, relative), 'utf8');
      for (const match of source.matchAll(/\b(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = posix.join(posix.dirname(relative), match[1]!).replace(/\.js$/, '.ts');
        assert.ok(inStage(target), `${relative} imports ${match[1]}, which the build stage does not have (${target})`);
      }
    }
  }
  assert.ok(compiled > 0, 'the build stage has sources to compile');
});

test('the build stage, reproduced from its own COPY and RUN lines, compiles what the runtime stage copies', async () => {
  const build = file.stages[0]!;
  const compile = positionOf(build, 'RUN', /\bnpm run build\b|\btsc\b/);
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-docker-build-'));
  try {
    for (const run of await materializeStage(ctx, build, compile, dir)) {
      assert.match(run.args, /^npm ci\b/, `Dockerfile line ${run.line}: only npm ci can be reproduced before the build`);
    }
    // npm ci, offline: this checkout's dependencies come from the same lockfile.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const result = await new Promise<{ code: number; output: string }>((done) => {
      execFile('/bin/sh', ['-c', build.instructions[compile]!.args], { cwd: dir, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}${stderr}` });
      });
    });
    assert.equal(result.code, 0, `the build stage's '${build.instructions[compile]!.args}' fails on the files it copied:\n${result.output}`);
    const workdir = workdirAt(file, build, compile);
    const taken = copiesOf(file, runtime).filter((c) => c.from === build.name);
    assert.ok(taken.length > 0, 'the runtime copies the build output');
    for (const copy of taken) {
      for (const src of copy.sources) {
        const inside = posix.relative(workdir, posix.resolve(workdirAt(file, build, build.instructions.length), src));
        assert.ok(existsSync(join(dir, inside)), `the build stage does not produce ${src}`);
      }
    }
    assert.ok(existsSync(join(dir, MAIN)), `the build stage does not produce ${MAIN}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the runtime stage installs production dependencies only, without install scripts', async () => {
  const install = runtime.instructions[positionOf(runtime, 'RUN', /\bnpm ci\b/)]!;
  assert.match(install.args, /--omit=dev\b/);
  // `prepare` runs tsc, which --omit=dev leaves out; onnxruntime-node's postinstall downloads.
  assert.match(install.args, /--ignore-scripts\b/);
  // Outside Docker, package.json's allowScripts denies that postinstall (npm 11.16 and later).
  const allowScripts = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { allowScripts?: Record<string, boolean> }).allowScripts;
  assert.equal(allowScripts?.['onnxruntime-node'], false, "package.json's allowScripts still denies onnxruntime-node's download");
  for (const copy of copiesOf(file, runtime).filter((c) => c.from !== undefined)) {
    assert.ok(!copy.sources.some((s) => /node_modules/.test(s)), `Dockerfile line ${copy.instruction.line}: node_modules would bring dev dependencies`);
  }
});

test('the runtime runs as a non-root user with glibc trimming on', () => {
  const users = runtime.instructions.filter((i) => i.keyword === 'USER');
  const user = users[users.length - 1]?.args.split(':')[0]?.trim();
  assert.ok(user, 'the runtime stage sets USER');
  assert.ok(user !== 'root' && user !== '0', `USER ${user} is root`);
  const env = runtime.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
  assert.match(env, /(^|\s)MALLOC_TRIM_THRESHOLD_=0(\s|$)/);
});

test('ENTRYPOINT runs the compiled CLI (the package bin) and the image holds what it reads at run time', async () => {
  const entrypoint = execForm(only(runtime, 'ENTRYPOINT').args);
  assert.ok(entrypoint, 'ENTRYPOINT in exec form (signals reach node)');
  assert.equal(entrypoint[0], 'node');
  const script = entrypoint[1]!;
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  assert.equal(posix.normalize(script), posix.normalize(pkg.bin['cranberries']!), 'the entry point is the package bin');
  const workdir = workdirAt(file, runtime, runtime.instructions.length);
  const origin = resolveImagePath(ctx, runtime, posix.resolve(workdir, script));
  assert.ok(origin?.kind === 'built', `${script} in the image is not the build's output (${JSON.stringify(origin)})`);
  assert.equal(origin.path, posix.normalize(script));
  // The compiled code finds package.json, proto/ and models/ at the package root, 3 levels up.
  const packageRoot = posix.resolve(workdir, posix.dirname(script), '../../..');
  const protoFiles = (await readdir(join(ROOT, 'proto'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => posix.join(posix.relative(ROOT, e.parentPath), e.name));
  assert.ok(protoFiles.length > 0);
  for (const needed of ['package.json', ...protoFiles, 'node_modules/commander']) {
    assert.ok(resolveImagePath(ctx, runtime, posix.join(packageRoot, needed)), `the image lacks ${needed} under ${packageRoot}`);
  }
  // worker/controller default --model-repository to <package root>/models.
  assert.ok(resolveImagePath(ctx, runtime, posix.join(packageRoot, 'models/digits/config.pbtxt')), `${packageRoot}/models does not lead to the bundled models`);
});

test('CMD is a command line our CLI accepts, serving the models copied into the image', async () => {
  const cmd = execForm(only(runtime, 'CMD').args);
  assert.ok(cmd && cmd.length > 0, 'CMD in exec form');
  const [command, ...args] = cmd;
  assert.ok(commands.includes(command!), `${command} is not a command of \`cranberries --help\` (${commands.join(', ')})`);
  assert.deepEqual(checkAgainstHelp(args, optionsOf(await helpText(MAIN, ROOT, command))), []);
  const options = parseCommandLine(command!, args);
  const repository = options['modelRepository'];
  assert.equal(typeof repository, 'string');
  const bundled = (await readdir(join(ROOT, 'models'))).filter((m) => !m.startsWith('.'));
  assert.ok(bundled.length > 0);
  for (const model of bundled) {
    const origin = resolveImagePath(ctx, runtime, posix.join(repository as string, model, 'config.pbtxt'));
    assert.deepEqual(origin, { kind: 'context', path: `models/${model}/config.pbtxt` }, `the image's ${repository as string} lacks the bundled model ${model}`);
  }
});

test('the image generates the bundled inception_v3 weights (not in git) from its production nsfwjs, into the served repository', () => {
  const runs = runtime.instructions.filter((i) => i.keyword === 'RUN');
  const build = runs.find((i) => /node scripts\/build-inception-v3\.mjs\b/.test(i.args));
  assert.ok(build, 'a RUN line runs scripts/build-inception-v3.mjs');
  assert.match(build.args, /--out \/models\/inception_v3\/1\b/, 'it writes the version folder of the repository CMD serves');
  // The script and nsfwjs are there when it runs: COPYed from the context, installed without dev dependencies.
  const position = runtime.instructions.indexOf(build);
  assert.ok(resolveImagePath(ctx, runtime, '/app/scripts/build-inception-v3.mjs', position), 'the script is in the image before it runs');
  const install = runs.findIndex((i) => /npm ci --omit=dev/.test(i.args));
  assert.ok(install >= 0 && runtime.instructions.indexOf(runs[install]!) < position, 'production dependencies (nsfwjs) are installed before');
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dependency of ['nsfwjs', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) assert.ok(pkg.dependencies[dependency], `${dependency} is a production dependency`);
  assert.ok(ctx.ignore.excludedBy('models/inception_v3/1/model.json'), 'locally generated weights stay out of the build context');
});

test('EXPOSE lists exactly the CLI default ports (HTTP, gRPC, metrics)', () => {
  const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.replace(/\/tcp$/, '')));
  const defaults = ['--http-port', '--grpc-port', '--metrics-port'].map(defaultPort);
  assert.deepEqual([...exposed].sort(), [...defaults].sort());
});

test('HEALTHCHECK probes /v2/health/live on the default HTTP port with node', () => {
  const { flags, rest } = splitFlags(only(runtime, 'HEALTHCHECK').args);
  for (const flag of ['interval', 'timeout', 'start-period']) assert.match(flags.get(flag) ?? '', /^\d+(ms|s|m)$/, `HEALTHCHECK --${flag}`);
  const command = execForm(rest.replace(/^CMD\s+/, ''));
  assert.ok(command, 'HEALTHCHECK CMD in exec form');
  assert.equal(command[0], 'node', 'slim images have no curl: probe with node');
  const script = command.slice(1).join(' ');
  assert.match(script, /\/v2\/health\/live\b/);
  assert.match(script, new RegExp(`\\b${defaultPort('--http-port')}\\b`), 'the probe falls back to the default HTTP port');
});

let server: TestServer | undefined;
let emptyRepository: string;

before(async () => {
  emptyRepository = await mkdtemp(join(tmpdir(), 'cranberries-docker-health-'));
});

after(async () => {
  await server?.stop();
  await rm(emptyRepository, { recursive: true, force: true });
});

/** Runs the HEALTHCHECK command against `port`, as Docker would inside the container; its exit code. */
async function runHealthcheck(port: number): Promise<number> {
  const command = execForm(splitFlags(only(runtime, 'HEALTHCHECK').args).rest.replace(/^CMD\s+/, ''))!;
  const executable = command[0] === 'node' ? process.execPath : command[0]!;
  return new Promise((resolve) => {
    execFile(executable, command.slice(1), { timeout: 15_000, env: { ...process.env, CRANBERRIES_HEALTH_PORT: String(port) } }, (error) => {
      resolve(error ? (typeof error.code === 'number' ? error.code : -1) : 0);
    });
  });
}

test('the HEALTHCHECK command passes against a live server and fails once it is gone', async () => {
  server = await startTestServer({ modelRepository: emptyRepository });
  const port = server.ports.http;
  assert.equal(await runHealthcheck(port), 0, 'healthy while the server is live');
  await server.stop();
  server = undefined;
  assert.notEqual(await runHealthcheck(port), 0, 'unhealthy once the server is gone');
});
