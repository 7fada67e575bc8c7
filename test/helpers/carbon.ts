/**
 * A private carbon-cache (Debian `graphite-carbon`) for tests: its own config, whisper files,
 * logs and pid file under a temp folder, a free loopback port, 1-second retention (so every test
 * point is kept as sent) and no creation or update rate limits. `stop()`/`restart()` keep the port
 * and the data, for outage tests; `fetch()` reads a series back with `whisper-fetch --json`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const CARBON_CACHE = '/usr/bin/carbon-cache';
const WHISPER_FETCH = '/usr/bin/whisper-fetch';
/** Debian's Python: the one that sees the carbon and whisper packages (Debian's graphite-carbon installs them for /usr/bin/python3, not for other Pythons on the PATH). */
const PYTHON = '/usr/bin/python3';

export interface WhisperSeries {
  readonly start: number;
  readonly end: number;
  readonly step: number;
  readonly values: readonly (number | null)[];
}

export interface CarbonServer {
  readonly port: number;
  /** Folder of the whisper files (`<path with dots as folders>.wsp`). */
  readonly whisperDir: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** The series at `path` between the two epoch seconds; undefined while carbon has not created it. */
  fetch(path: string, from: number, until: number): Promise<WhisperSeries | undefined>;
  /** Stops carbon and deletes its folder. */
  remove(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startCarbon(): Promise<CarbonServer> {
  if (!existsSync(CARBON_CACHE) || !existsSync(WHISPER_FETCH)) {
    throw new Error(`carbon-cache or whisper-fetch is missing: install them with \`apt-get install -y graphite-carbon python3-whisper\``);
  }
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-carbon-'));
  const storage = join(dir, 'storage');
  const whisperDir = join(storage, 'whisper');
  const conf = join(dir, 'conf');
  await Promise.all([mkdir(whisperDir, { recursive: true }), mkdir(conf, { recursive: true }), mkdir(join(dir, 'log'), { recursive: true })]);
  const [port, picklePort, queryPort] = [await freePort(), await freePort(), await freePort()];
  await writeFile(
    join(conf, 'carbon.conf'),
    [
      '[cache]',
      `STORAGE_DIR = ${storage}/`,
      `LOCAL_DATA_DIR = ${whisperDir}/`,
      `WHITELISTS_DIR = ${storage}/lists/`,
      `CONF_DIR = ${conf}/`,
      `LOG_DIR = ${dir}/log/`,
      `PID_DIR = ${dir}/`,
      'USER =',
      'DATABASE = whisper',
      'ENABLE_LOGROTATION = False',
      'MAX_CACHE_SIZE = inf',
      'MAX_UPDATES_PER_SECOND = inf',
      'MAX_CREATES_PER_MINUTE = inf',
      'LINE_RECEIVER_INTERFACE = 127.0.0.1',
      `LINE_RECEIVER_PORT = ${port}`,
      'ENABLE_UDP_LISTENER = False',
      'PICKLE_RECEIVER_INTERFACE = 127.0.0.1',
      `PICKLE_RECEIVER_PORT = ${picklePort}`,
      'CACHE_QUERY_INTERFACE = 127.0.0.1',
      `CACHE_QUERY_PORT = ${queryPort}`,
      'LOG_LISTENER_CONN_SUCCESS = False',
      'WHISPER_FALLOCATE_CREATE = False',
      '',
    ].join('\n'),
  );
  // 1 s slots for an hour: nothing a test sends is averaged away.
  await writeFile(join(conf, 'storage-schemas.conf'), '[default]\npattern = .*\nretentions = 1s:1h\n');
  await writeFile(join(conf, 'storage-aggregation.conf'), '[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = last\n');

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let output = '';
  const launch = async (): Promise<void> => {
    output = '';
    const proc = spawn(PYTHON, [CARBON_CACHE, `--config=${join(conf, 'carbon.conf')}`, `--pidfile=${join(dir, 'carbon.pid')}`, '--debug', 'start'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    proc.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    proc.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`carbon-cache exited with ${proc.exitCode}:\n${output}`);
      if (await canConnect(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    proc.kill('SIGKILL');
    throw new Error(`carbon-cache did not open port ${port} within 15 s:\n${output}`);
  };
  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };
  await launch();

  return {
    port,
    whisperDir,
    stop,
    async restart(): Promise<void> {
      await stop();
      await launch();
    },
    async fetch(path: string, from: number, until: number): Promise<WhisperSeries | undefined> {
      const file = join(whisperDir, ...path.split('.')) + '.wsp';
      if (!existsSync(file)) return undefined;
      const { stdout } = await promisify(execFile)(PYTHON, [WHISPER_FETCH, '--json', `--from=${from}`, `--until=${until}`, file]);
      return JSON.parse(stdout) as WhisperSeries;
    },
    async remove(): Promise<void> {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
