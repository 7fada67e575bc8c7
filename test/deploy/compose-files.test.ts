/**
 * deploy/docker-compose.yml (one server) and deploy/docker-compose.cluster.yml (ZooKeeper, controller,
 * two workers, gateway), checked without a Docker engine: docker-compose v1 validates each file
 * (`config -q`, the same parser `up` uses), and the resolved configuration is checked against our CLI:
 * every command line is one the CLI accepts (flags from its `--help`, values through its own parsers),
 * the model repository flag points at the shared models volume, published ports are ones the process
 * listens on, and the cluster roles agree on ZooKeeper, node identities and memory.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseZooKeeperAddress } from '../../src/cluster/store/zookeeper-address.js';
import { checkAgainstHelp, commandsOf, helpText, optionsOf, parseCommandLine } from './cli-help.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = 'dist/src/cli/main.js';
const SINGLE = join(ROOT, 'deploy/docker-compose.yml');
const CLUSTER = join(ROOT, 'deploy/docker-compose.cluster.yml');
const PYTHON = '/usr/bin/python3'; // Debian's, which has PyYAML (a docker-compose dependency)

interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  ports?: (string | { published: number | string; target: number | string })[];
  volumes?: (string | { source?: string; target: string })[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  mem_limit?: string | number;
  restart?: string;
  environment?: Record<string, string | null>;
}
interface ComposeFile {
  version?: string;
  name?: string;
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** Runs a program; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(program: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  // A caller's CRANBERRIES_MODELS or COMPOSE_* would change what the files resolve to.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CRANBERRIES_MODELS' && !k.startsWith('COMPOSE_')));
  return new Promise((done) => {
    const child = execFile(program, args, { cwd: ROOT, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });
}

async function yamlToJson<T>(text: string): Promise<T> {
  const { code, stdout, stderr } = await run(PYTHON, ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], text);
  assert.equal(code, 0, `PyYAML could not parse: ${stderr}`);
  return JSON.parse(stdout) as T;
}

/** The configuration docker-compose resolves from `file` (anchors merged, variables substituted). */
async function resolved(file: string): Promise<ComposeFile> {
  const { code, stdout, stderr } = await run('docker-compose', ['-f', file, 'config']);
  assert.equal(code, 0, `docker-compose -f ${file} config failed:\n${stderr}`);
  return yamlToJson<ComposeFile>(stdout);
}

let commands: string[];
const helps = new Map<string, string>();

before(async () => {
  assert.ok(existsSync('/usr/bin/docker-compose'), 'docker-compose v1 is missing: apt-get install -y --no-install-recommends docker-compose (npm test installs it)');
  commands = commandsOf(await helpText(MAIN, ROOT));
  for (const command of ['serve', 'worker', 'controller', 'gateway']) helps.set(command, await helpText(MAIN, ROOT, command));
});

/** A Cranberries service's command line, checked against the CLI; its parsed options. */
function cranberriesCommand(name: string, service: Service): { command: string; args: string[]; options: Record<string, unknown> } {
  assert.ok(Array.isArray(service.command), `${name}: write command as a list (no shell splitting surprises)`);
  const [command, ...args] = service.command;
  assert.ok(command !== undefined && commands.includes(command), `${name}: '${command}' is not a cranberries command (${commands.join(', ')})`);
  assert.deepEqual(checkAgainstHelp(args, optionsOf(helps.get(command)!)), [], `${name}: flags not in \`cranberries ${command} --help\``);
  let options: Record<string, unknown> = {};
  assert.doesNotThrow(() => (options = parseCommandLine(command, args)), `${name}: cranberries ${command} rejects ${args.join(' ')}`);
  return { command, args, options };
}

function cranberriesServices(config: ComposeFile): [string, Service][] {
  return Object.entries(config.services).filter(([, s]) => s.build !== undefined || s.image?.startsWith('cranberries') === true);
}

function mounts(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== 'string') return { source: v.source ?? '', target: v.target };
    const [source, target] = v.split(':');
    return { source: source!, target: target! };
  });
}

function published(service: Service): { published: number; target: number }[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p !== 'string') return { published: Number(p.published), target: Number(p.target) };
    const parts = p.split(':');
    return { published: Number(parts[parts.length - 2]), target: Number(parts[parts.length - 1]!.replace(/\/tcp$/, '')) };
  });
}

/** The service is built from this repository's Dockerfile (the image the Dockerfile tests check). */
function assertBuiltFromRepository(name: string, service: Service): void {
  // compose v1 passes any restart string through; the engine accepts only these.
  if (service.restart !== undefined) assert.match(service.restart, /^(no|always|unless-stopped|on-failure(:\d+)?)$/, `${name}: restart policy`);
  assert.ok(service.build, `${name}: no build section`);
  assert.equal(resolve(service.build.context), resolve(ROOT), `${name}: build context is not the repository root`);
  assert.ok(existsSync(join(service.build.context, service.build.dockerfile ?? 'Dockerfile')), `${name}: its Dockerfile does not exist`);
}

/** Model repository flag → a volume mounted at exactly that path. Returns the volume's source. */
function assertModelsMounted(name: string, service: Service, options: Record<string, unknown>): string {
  const mount = mounts(service).find((m) => m.target === options['modelRepository']);
  assert.ok(mount, `${name}: --model-repository ${String(options['modelRepository'])} is not a mounted volume`);
  return mount.source;
}

/** Published ports are the ones the process listens on: HTTP, gRPC and metrics, at the CLI defaults. */
function assertPublishesDefaultPorts(name: string, service: Service, options: Record<string, unknown>): void {
  const listening = [options['httpPort'], options['grpcPort'], options['metricsPort']];
  assert.deepEqual(published(service).map((p) => p.target).sort(), [...listening].sort(), `${name}: publish exactly its HTTP, gRPC and metrics ports`);
  assert.deepEqual(published(service).map((p) => p.published).sort(), [8000, 8001, 8002], `${name}: published on the documented 8000/8001/8002`);
}

for (const file of [SINGLE, CLUSTER]) {
  test(`docker-compose v1 validates ${file.slice(ROOT.length)} (config -q)`, async () => {
    const { code, stderr } = await run('docker-compose', ['-f', file, 'config', '-q']);
    assert.equal(code, 0, stderr);
    const raw = await yamlToJson<ComposeFile>(await readFile(file, 'utf8'));
    assert.equal(raw.version, '3.8');
    assert.equal(raw.name, undefined, 'no top-level name: (compose v1 rejects it)');
  });
}

test('the validator is compose v1 and really rejects what v1 cannot read', async () => {
  // Guards the check above: a newer compose would accept a top-level name: and miss such a break.
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-compose-'));
  try {
    const broken = join(dir, 'docker-compose.yml');
    await writeFile(broken, `name: cranberries\n${await readFile(SINGLE, 'utf8')}`);
    const { code, stderr } = await run('docker-compose', ['-f', broken, 'config', '-q']);
    assert.notEqual(code, 0);
    assert.match(stderr, /'name' does not match/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('docker-compose.yml: one server built from the repository, serving the models volume on 8000-8002', async () => {
  const config = await resolved(SINGLE);
  const services = cranberriesServices(config);
  assert.equal(services.length, 1);
  const [name, service] = services[0]!;
  assertBuiltFromRepository(name, service);
  const { command, options } = cranberriesCommand(name, service);
  assert.equal(command, 'serve');
  const source = assertModelsMounted(name, service, options);
  assert.ok(config.volumes && source in config.volumes, `${name}: the models volume '${source}' is declared`);
  assertPublishesDefaultPorts(name, service, options);
});

test('docker-compose.cluster.yml: ZooKeeper, one controller, two workers and a gateway that agree with each other', async () => {
  const config = await resolved(CLUSTER);
  const raw = await yamlToJson<ComposeFile>(await readFile(CLUSTER, 'utf8'));
  const zookeeper = Object.entries(config.services).filter(([, s]) => s.image === 'zookeeper:3.8');
  assert.equal(zookeeper.length, 1, 'one ZooKeeper from the official zookeeper:3.8 image');
  const [zkName, zkService] = zookeeper[0]!;
  const zkPort = Number(zkService.environment?.['ZOO_PORT'] ?? 2181);

  const roles = cranberriesServices(config).map(([name, service]) => ({ name, service, ...cranberriesCommand(name, service) }));
  const byCommand = (c: string): typeof roles => roles.filter((r) => r.command === c);
  assert.equal(byCommand('controller').length, 1, 'one controller');
  assert.equal(byCommand('worker').length, 2, 'two workers');
  assert.equal(byCommand('gateway').length, 1, 'one gateway');
  assert.equal(roles.length, 4);

  const chroots = new Set<string | undefined>();
  const modelSources = new Set<string>();
  for (const { name, service, command, options } of roles) {
    assertBuiltFromRepository(name, service);
    const address = parseZooKeeperAddress(String(options['zookeeper']));
    assert.equal(address.servers, `${zkName}:${zkPort}`, `${name}: --zookeeper must name the ${zkName} service`);
    chroots.add(address.chroot);
    const dependsOn = Array.isArray(service.depends_on) ? Object.fromEntries(service.depends_on.map((d) => [d, { condition: 'service_started' }])) : (service.depends_on ?? {});
    assert.ok(zkName in dependsOn, `${name}: depends on ${zkName}`);
    for (const [dependency, { condition }] of Object.entries(dependsOn)) {
      if (condition === 'service_healthy') assert.ok(config.services[dependency]?.healthcheck?.test, `${name}: waits for ${dependency} to be healthy, which has no healthcheck`);
    }
    // Every role sees the same model repository (the gateway keeps it for uniformity only).
    const mount = mounts(service).find((m) => m.target === (options['modelRepository'] ?? '/models'));
    assert.ok(mount, `${name}: the models volume is mounted`);
    modelSources.add(mount.source);
    if (command !== 'gateway') assertModelsMounted(name, service, options);
    // The image's HEALTHCHECK probes HTTP; the controller serves none, so its check must be off.
    // (Checked as written too: compose v1 resolves even `disable: false` to NONE.)
    if (command === 'controller') {
      for (const check of [service.healthcheck, raw.services[name]?.healthcheck]) {
        assert.ok(check?.disable === true || (Array.isArray(check?.test) && check.test[0] === 'NONE'), `${name}: disable the image healthcheck (no HTTP server)`);
      }
    }
  }
  assert.equal(chroots.size, 1, 'every role uses the same ZooKeeper chroot (one cluster)');
  assert.equal(modelSources.size, 1, `one shared models volume (${[...modelSources].join(', ')})`);
  const [modelSource] = modelSources;
  assert.ok(config.volumes && modelSource! in config.volumes, `the models volume '${modelSource}' is declared`);

  const workers = byCommand('worker');
  assert.deepEqual(
    workers.map((w) => w.options['advertiseHost']),
    workers.map((w) => w.name),
    'each worker advertises its service name, which the gateway resolves on the compose network',
  );
  const nodeIds = workers.map((w) => w.options['nodeId']);
  assert.ok(nodeIds.every((id) => typeof id === 'string' && id !== ''), 'each worker has an explicit --node-id');
  assert.equal(new Set(nodeIds).size, workers.length, 'node ids are distinct');
  for (const worker of workers) {
    assert.ok(worker.args.includes('--memory-limit'), `${worker.name}: --memory-limit (the default, 80% of the host's RAM, overcommits)`);
    const limit = worker.service.mem_limit;
    if (limit !== undefined) assert.ok((worker.options['memoryLimit'] as number) < composeBytes(limit), `${worker.name}: --memory-limit leaves room below mem_limit ${limit}`);
    assert.equal(published(worker.service).length, 0, `${worker.name}: clients go through the gateway`);
  }
  const controller = byCommand('controller')[0]!;
  assert.ok((controller.options['defaultReplicas'] as number) <= workers.length, 'no more default replicas than workers');
  assertModelsMounted(controller.name, controller.service, controller.options);

  const gateway = byCommand('gateway')[0]!;
  assertPublishesDefaultPorts(gateway.name, gateway.service, gateway.options);
});

/** Compose's byte values: a number, or digits with b/k/m/g (binary multiples). */
function composeBytes(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)b?$/i.exec(value.trim());
  assert.ok(match, `cannot read the byte value '${value}'`);
  return Number(match[1]) * 1024 ** 'bkmg'.indexOf(match[2]!.toLowerCase() || 'b');
}
