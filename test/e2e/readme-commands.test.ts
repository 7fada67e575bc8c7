/**
 * Every shell command block of README.md, run as written against a real `cranberries serve` on the
 * bundled models (what `npm start` runs), and its documented output compared with what it printed.
 *
 * The convention (README.md, "Contributing", says the same for writers):
 *
 * - Fences tagged `sh`, `bash` or `console` are command blocks; every other fence (`json`, `text`,
 *   `python`, `ts`, untagged, ...) is not run.
 * - `sh` / `bash`: the whole block is one bash script (`set -eo pipefail`); it must exit 0. When the
 *   next fence after it (only blank lines between) is tagged `json` or `text`, that fence is the
 *   block's expected standard output.
 * - `console`: lines starting with `$ ` are commands (a line ending in `\` continues on the next);
 *   the lines after a command, up to the next `$ `, are its expected standard output. Each command
 *   must exit 0.
 * - Expected output matches when: as a whole it parses as JSON and equals the actual output
 *   structurally; else line by line, where a line `...` stands for any number of lines, and a line
 *   that parses as a JSON object or array is compared structurally with the actual line.
 *   Structurally: the string `"..."` matches any value; a string ending in `...` matches any string
 *   that starts with what precedes the dots; an object with the key `"..."` may have other keys; an
 *   array whose last element is `"..."` may have more elements; a number matches the actual value
 *   rounded to the significant digits it is written with (`0.99865` matches 0.9986475).
 * - Blocks run one after another, in README order, in one scratch folder holding copies of the
 *   checkout's `examples/`, `proto/` and `package.json` and links to its `models/` and `dist/` (files
 *   a block writes stay there for the next block).
 * - Ports: `localhost:8000` / `8001` / `8002` (or `127.0.0.1:...`) are rewritten to the test
 *   server's HTTP, gRPC and metrics ports. `cranberries` on the PATH is the checkout's CLI; for
 *   `infer` and `bench` without `-u` / `--url` it adds `--url` with the test server's HTTP address
 *   (their default is localhost:8000).
 * - An HTML comment on the line right before a fence steers it:
 *   `<!-- readme-test: skip (reason) -->` does not run it (the reason is required and shown as the
 *   test's skip reason); `<!-- readme-test: serve <flags> -->` runs it against a second server
 *   started with those `cranberries serve` flags (on ports of its own, rewritten the same way).
 *   Any other `readme-test:` comment fails the test.
 *
 * Skipped on purpose (each has its marker and reason in the README): blocks that need Docker, a
 * ZooKeeper cluster, a global npm install, a long benchmark or soak, or that start a long-running
 * server on the default ports themselves.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_ROOT, startCli, type CliProcess } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/test-server.js';

const COMMAND_LANGUAGES = new Set(['sh', 'bash', 'console']);
const OUTPUT_LANGUAGES = new Set(['json', 'text']);
const COMMAND_TIMEOUT_MS = 60_000;

interface Fence {
  readonly line: number; // 1-based line of the opening fence
  readonly language: string;
  readonly body: string;
  readonly marker: string | undefined; // the text of a `<!-- readme-test: ... -->` right before it
  readonly followsOnlyBlankLinesAfter: number | undefined; // index of the previous fence when only blank lines separate them
}

interface Command {
  readonly command: string;
  readonly expected: string | undefined;
}

interface Block {
  readonly line: number;
  readonly language: string;
  readonly commands: Command[];
  readonly skip: string | undefined;
  readonly serveFlags: string[] | undefined;
}

function parseFences(markdown: string): Fence[] {
  const lines = markdown.split('\n');
  const fences: Fence[] = [];
  let lastFenceEnd = -2;
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    if (end >= lines.length) throw new Error(`README.md line ${i + 1}: fence not closed`);
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const markerMatch = before >= 0 ? /^<!--\s*readme-test:\s*(.*?)\s*-->\s*$/.exec(lines[before]!) : null;
    fences.push({
      line: i + 1,
      language: open[1]!.toLowerCase(),
      body: lines.slice(i + 1, end).join('\n'),
      marker: markerMatch ? markerMatch[1] : undefined,
      followsOnlyBlankLinesAfter: before === lastFenceEnd ? fences.length - 1 : undefined,
    });
    lastFenceEnd = end;
    i = end;
  }
  return fences;
}

function parseConsole(body: string, line: number): Command[] {
  const commands: { command: string; output: string[] }[] = [];
  const lines = body.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    if (text.startsWith('$ ')) {
      let command = text.slice(2);
      while (command.endsWith('\\') && i + 1 < lines.length) command += `\n${lines[++i]!}`;
      commands.push({ command, output: [] });
    } else if (commands.length === 0) {
      if (text.trim() !== '') throw new Error(`README.md line ${line}: a console block starts with a '$ ' command`);
    } else {
      commands[commands.length - 1]!.output.push(text);
    }
  }
  return commands.map(({ command, output }) => {
    const text = output.join('\n').trim();
    return { command, expected: text === '' ? undefined : text };
  });
}

function readmeBlocks(markdown: string): Block[] {
  const fences = parseFences(markdown);
  const blocks: Block[] = [];
  fences.forEach((fence, index) => {
    if (!COMMAND_LANGUAGES.has(fence.language)) return;
    let skip: string | undefined;
    let serveFlags: string[] | undefined;
    if (fence.marker !== undefined) {
      const skipMatch = /^skip\s*\((.+)\)$/.exec(fence.marker);
      const serveMatch = /^serve\s+(.+)$/.exec(fence.marker);
      if (skipMatch) skip = skipMatch[1]!.trim();
      else if (serveMatch) serveFlags = serveMatch[1]!.trim().split(/\s+/);
      else throw new Error(`README.md line ${fence.line}: unknown marker 'readme-test: ${fence.marker}' (use 'skip (reason)' or 'serve <flags>')`);
    }
    const next = fences[index + 1];
    const output = next && next.followsOnlyBlankLinesAfter === index && OUTPUT_LANGUAGES.has(next.language) ? next.body.trim() : undefined;
    const commands = fence.language === 'console' ? parseConsole(fence.body, fence.line) : [{ command: fence.body, expected: output }];
    blocks.push({ line: fence.line, language: fence.language, commands, skip, serveFlags });
  });
  return blocks;
}

// ---- comparing documented and actual output ---------------------------------------------------------

function significantDigits(value: number): number {
  const mantissa = value.toExponential().split('e')[0]!.replace('-', '').replace('.', '');
  return Math.max(1, mantissa.replace(/0+$/, '').length);
}

/** Where `actual` differs from `expected` (the README's JSON with its wildcards), or undefined. */
function jsonMismatch(expected: unknown, actual: unknown, path: string): string | undefined {
  if (expected === '...') return undefined;
  if (typeof expected === 'string' && expected.endsWith('...')) {
    const prefix = expected.slice(0, -3);
    return typeof actual === 'string' && actual.startsWith(prefix) ? undefined : `${path}: expected a string starting with ${JSON.stringify(prefix)}, got ${JSON.stringify(actual)}`;
  }
  if (typeof expected === 'number') {
    if (typeof actual !== 'number') return `${path}: expected ${expected}, got ${JSON.stringify(actual)}`;
    if (actual === expected) return undefined;
    const rounded = Number(actual.toExponential(significantDigits(expected) - 1));
    return rounded === expected ? undefined : `${path}: expected ${expected}, got ${actual}`;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return `${path}: expected an array, got ${JSON.stringify(actual)}`;
    const open = expected.length > 0 && expected[expected.length - 1] === '...';
    const items = open ? expected.slice(0, -1) : expected;
    if (open ? actual.length < items.length : actual.length !== items.length) return `${path}: expected ${items.length}${open ? ' or more' : ''} elements, got ${actual.length}`;
    for (let i = 0; i < items.length; i++) {
      const mismatch = jsonMismatch(items[i], actual[i], `${path}[${i}]`);
      if (mismatch) return mismatch;
    }
    return undefined;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return `${path}: expected an object, got ${JSON.stringify(actual)}`;
    const expectedObject = expected as Record<string, unknown>;
    const actualObject = actual as Record<string, unknown>;
    for (const [key, value] of Object.entries(expectedObject)) {
      if (key === '...') continue;
      if (!(key in actualObject)) return `${path}.${key}: missing`;
      const mismatch = jsonMismatch(value, actualObject[key], `${path}.${key}`);
      if (mismatch) return mismatch;
    }
    if (!('...' in expectedObject)) {
      const extra = Object.keys(actualObject).filter((k) => !(k in expectedObject));
      if (extra.length > 0) return `${path}: unexpected keys ${extra.join(', ')}`;
    }
    return undefined;
  }
  return expected === actual ? undefined : `${path}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

function tryJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

function lineMatches(expected: string, actual: string): boolean {
  if (/^\s*[[{]/.test(expected)) {
    const e = tryJson(expected);
    const a = tryJson(actual);
    if (e && a) return jsonMismatch(e.value, a.value, '$') === undefined;
  }
  return expected.trimEnd() === actual.trimEnd();
}

/** Lines with `...` wildcard lines: a small backtracking match (README outputs are a few lines). */
function linesMatch(expected: string[], actual: string[]): boolean {
  if (expected.length === 0) return actual.length === 0;
  if (expected[0]!.trim() === '...') {
    for (let skip = 0; skip <= actual.length; skip++) if (linesMatch(expected.slice(1), actual.slice(skip))) return true;
    return false;
  }
  return actual.length > 0 && lineMatches(expected[0]!, actual[0]!) && linesMatch(expected.slice(1), actual.slice(1));
}

function outputMismatch(expected: string, actual: string): string | undefined {
  const wholeExpected = tryJson(expected);
  if (wholeExpected && expected.includes('\n')) {
    const wholeActual = tryJson(actual);
    if (!wholeActual) return 'expected JSON output';
    return jsonMismatch(wholeExpected.value, wholeActual.value, '$');
  }
  if (wholeExpected) {
    const wholeActual = tryJson(actual.trim());
    if (wholeActual) return jsonMismatch(wholeExpected.value, wholeActual.value, '$');
  }
  const actualLines = actual.replace(/\n+$/, '').split('\n');
  return linesMatch(expected.split('\n'), actualLines) ? undefined : 'the output lines differ';
}

// ---- running ------------------------------------------------------------------------------------------

interface Ports {
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
}

function rewritePorts(text: string, ports: Ports): string {
  const byDefault: Record<string, number> = { '8000': ports.http, '8001': ports.grpc, '8002': ports.metrics };
  return text.replace(/\b(?:localhost|127\.0\.0\.1):(800[012])\b/g, (_, port: string) => `127.0.0.1:${byDefault[port]!}`);
}

async function writeCliShim(binDir: string, httpPort: number): Promise<void> {
  const shim = `#!/bin/bash
# The checkout's CLI; infer and bench get the test server's address unless the command names one.
case "$1" in
  infer|bench)
    if ! printf '%s\\n' "$@" | grep -qE '^(-u|--url)(=|$)'; then set -- "$@" --url "http://127.0.0.1:${httpPort}"; fi ;;
esac
exec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(PACKAGE_ROOT, 'dist/src/cli/main.js'))} "$@"
`;
  await writeFile(join(binDir, 'cranberries'), shim);
  await chmod(join(binDir, 'cranberries'), 0o755);
}

function runBash(script: string, cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Its own process group, so that anything it leaves running is ended with it.
    const child = spawn('bash', ['-c', `set -eo pipefail\n${script}`], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let code: number | string = 'timeout';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const killGroup = (): void => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(killGroup, COMMAND_TIMEOUT_MS);
    child.on('exit', (exitCode, signal) => {
      code = exitCode ?? signal ?? 'unknown';
      setTimeout(killGroup, 1000).unref();
    });
    child.on('close', () => {
      clearTimeout(timer);
      killGroup();
      resolve({ code, stdout, stderr });
    });
  });
}

interface Server {
  readonly cli: CliProcess;
  readonly ports: Ports;
  readonly binDir: string;
}

async function startServer(flags: readonly string[], scratch: string, name: string): Promise<Server> {
  const cli = startCli(flags);
  const url = await cli.url();
  await waitFor(async () => (await fetch(`${url}/v2/health/ready`)).status === 200, 60_000, `${name} to be ready`);
  const listening = cli.logs.find((e) => typeof e['http'] === 'number')!;
  const ports = { http: Number(listening['http']), grpc: Number(listening['grpc']), metrics: Number(listening['metrics']) };
  const binDir = join(scratch, `.bin-${name}`);
  await mkdir(binDir, { recursive: true });
  await writeCliShim(binDir, ports.http);
  return { cli, ports, binDir };
}

const readme = await readFile(join(PACKAGE_ROOT, 'README.md'), 'utf8');
const blocks = readmeBlocks(readme);
const only = process.env['README_TEST_LINES']?.split(',').map(Number); // debugging: run only the blocks at these lines

let scratch: string;
let main: Server;
const extraServers = new Map<string, Promise<Server>>();

before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'readme-commands-'));
  // Copies where a block may `cd` into the folder and write next to it (`cd proto && ... ../stubs`).
  for (const name of ['examples', 'proto']) await cp(join(PACKAGE_ROOT, name), join(scratch, name), { recursive: true });
  // package.json lets examples import the package by name (`cranberries/client`), as in the checkout.
  await cp(join(PACKAGE_ROOT, 'package.json'), join(scratch, 'package.json'));
  for (const name of ['models', 'dist']) await symlink(join(PACKAGE_ROOT, name), join(scratch, name));
  main = await startServer([], scratch, 'main');
});

after(async () => {
  await main?.cli.stop();
  for (const server of extraServers.values()) await (await server).cli.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test('the README has command blocks, and every marker says why', () => {
  assert.ok(blocks.length >= 10, `only ${blocks.length} command blocks found`);
  for (const block of blocks) if (block.skip !== undefined) assert.ok(block.skip.length >= 5, `README.md line ${block.line}: a skip marker needs a reason`);
});

for (const block of blocks) {
  const title = `README.md line ${block.line}: ${block.commands[0]?.command.split('\n')[0]!.slice(0, 80) ?? ''}`;
  const skip = block.skip ?? (only && !only.includes(block.line) ? 'not selected by README_TEST_LINES' : undefined);
  test(title, { skip: skip ?? false }, async () => {
    let server = main;
    if (block.serveFlags) {
      const key = block.serveFlags.join(' ');
      if (!extraServers.has(key)) extraServers.set(key, startServer(block.serveFlags, scratch, `extra${extraServers.size}`));
      server = await extraServers.get(key)!;
    }
    const env = { ...process.env, PATH: `${server.binDir}:${process.env['PATH'] ?? ''}` };
    for (const { command, expected } of block.commands) {
      const script = rewritePorts(command, server.ports);
      const result = await runBash(script, scratch, env);
      const shown = `\n--- command\n${script}\n--- stdout\n${result.stdout.slice(0, 4000)}\n--- stderr\n${result.stderr.slice(0, 2000)}`;
      assert.equal(result.code, 0, `exit ${result.code}${shown}`);
      if (expected !== undefined) {
        const mismatch = outputMismatch(expected, result.stdout);
        assert.equal(mismatch, undefined, `${mismatch ?? ''}\n--- expected\n${expected}${shown}`);
      }
    }
  });
}
