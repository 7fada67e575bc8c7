/**
 * One Python stub process (python/cranberries_backend/stub.py) running one model instance. The
 * frames travel over two extra pipes (fd 3 to the stub, fd 4 back) so the model's own prints on
 * stdout/stderr cannot corrupt them; those go to the server log, line by line, with the model.
 * One call at a time: the instance never overlaps executions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../../core/index.js';
import { FrameReader, encodeFrame, type BodyBuilder } from './wire.js';

export interface StubLaunch {
  readonly python: string;
  /** Folder holding the `cranberries_backend` package and `triton_python_backend_utils.py`. */
  readonly packageRoot: string;
  readonly label: string;
  readonly threads: number;
  /** Bodies of this many bytes or more travel through a file under `fileDir`'s parent. */
  readonly fileThreshold: number;
  readonly logger?: Logger | undefined;
}

export interface StubReply {
  readonly header: Record<string, unknown>;
  readonly body: Buffer;
}

/** Why the process ended, for messages ("exited with code 1", "was killed by signal SIGKILL"). */
export type ExitReason = string;

/** Where large bodies go: tmpfs when the machine has it. */
const SHM_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

export class StubProcess {
  private readonly child: ChildProcess;
  private readonly toStub: Writable;
  /** A private folder (mode 0700) for the large bodies of this process, removed when it ends. */
  readonly fileDir: string;
  private waiting: { resolve: (reply: StubReply) => void; reject: (error: Error) => void } | undefined;
  private exitReason: ExitReason | undefined;
  readonly exited: Promise<ExitReason>;

  constructor(private readonly launch: StubLaunch) {
    this.fileDir = mkdtempSync(join(SHM_ROOT, 'cranberries-py-'));
    this.child = spawn(launch.python, ['-u', '-m', 'cranberries_backend.stub'], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PYTHONPATH: [launch.packageRoot, process.env['PYTHONPATH']].filter(Boolean).join(':'),
        PYTHONUNBUFFERED: '1',
        PYTHONDONTWRITEBYTECODE: '1',
        // NumPy's BLAS and OpenMP pools follow the instance's thread budget, as torch does.
        OMP_NUM_THREADS: String(launch.threads),
        OPENBLAS_NUM_THREADS: String(launch.threads),
        MKL_NUM_THREADS: String(launch.threads),
      },
    });
    this.toStub = this.child.stdio[3] as Writable;
    const fromStub = this.child.stdio[4] as Readable;
    // A write to a stub that just died fails; the exit handler reports it.
    this.toStub.on('error', () => undefined);
    const reader = new FrameReader((header, body) => this.settle(header, body));
    fromStub.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (error) {
        this.fail(new Error(`${launch.label}: unreadable answer from the Python stub: ${(error as Error).message}`));
        this.kill();
      }
    });
    for (const [stream, level] of [
      [this.child.stdout, 'info'],
      [this.child.stderr, 'warn'],
    ] as const) {
      if (!stream) continue;
      const lines = createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => launch.logger?.[level]({ model: launch.label, stream: level === 'info' ? 'stdout' : 'stderr' }, line.slice(0, 4000)));
    }
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.exitReason ??= `could not start ${launch.python}: ${error.message}`;
        this.cleanUp();
        resolve(this.exitReason);
      });
      this.child.on('exit', (code, signal) => {
        this.exitReason ??= signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
        this.cleanUp();
        resolve(this.exitReason);
      });
    });
    void this.exited.then((reason) => this.fail(new StubExitedError(reason)));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.exitReason === undefined;
  }

  /** Sends one frame and resolves with the stub's answer; rejects with `StubExitedError` if it dies. */
  call(header: Record<string, unknown>, body?: BodyBuilder): Promise<StubReply> {
    if (this.exitReason !== undefined) return Promise.reject(new StubExitedError(this.exitReason));
    if (this.waiting) return Promise.reject(new Error(`${this.launch.label}: the Python stub is busy`));
    const reply = new Promise<StubReply>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    if (body && body.length >= this.launch.fileThreshold) {
      // One input file per stub, rewritten in place (not recreated): fresh tmpfs pages cost 10× the copy.
      // Asynchronous, so a large body does not hold up the event loop.
      const path = join(this.fileDir, 'in');
      writeBody(path, body.parts).then(
        () => this.toStub.write(encodeFrame({ ...header, file: path, length: body.length }, 0)),
        (error: unknown) => this.fail(new Error(`${this.launch.label}: could not write the request for the stub: ${(error as Error).message}`)),
      );
    } else {
      this.toStub.write(encodeFrame(header, body?.length ?? 0));
      for (const part of body?.parts ?? []) this.toStub.write(part);
    }
    return reply;
  }

  /** Ends the process now (SIGKILL). */
  kill(): void {
    if (this.exitReason === undefined) this.child.kill('SIGKILL');
  }

  /** Closes its input so it ends on its own; SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.toStub.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private settle(raw: unknown, body: Buffer): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return;
    const header = (raw ?? {}) as Record<string, unknown>;
    if (header['file'] !== undefined) {
      // Only this process's own output file: a stub cannot make the server read elsewhere.
      const length = header['length'];
      if (header['file'] !== join(this.fileDir, 'out') || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > MAX_FILE_BODY_BYTES) {
        waiting.reject(new Error(`${this.launch.label}: the Python stub named another file or a bad length`));
        return;
      }
      readBody(join(this.fileDir, 'out'), length).then(
        (fileBody) => waiting.resolve({ header, body: fileBody }),
        (error: unknown) => waiting.reject(new Error(`${this.launch.label}: could not read the stub's answer: ${(error as Error).message}`)),
      );
      return;
    }
    waiting.resolve({ header, body });
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  private cleanUp(): void {
    rmSync(this.fileDir, { recursive: true, force: true });
  }
}

/** Largest body a stub may announce in its file (a Node.js Buffer's limit is 4 GiB). */
const MAX_FILE_BODY_BYTES = 2 ** 32 - 1;

/** `length` bytes of `path` into a fresh, 8-aligned buffer (readFile is several times slower on tmpfs). */
async function readBody(path: string, length: number): Promise<Buffer> {
  const body = Buffer.allocUnsafeSlow(length);
  const file = await open(path, 'r');
  try {
    let got = 0;
    while (got < length) {
      const { bytesRead } = await file.read(body, got, length - got, got);
      if (bytesRead === 0) throw new Error(`the file holds ${got} of ${length} bytes`);
      got += bytesRead;
    }
  } finally {
    await file.close();
  }
  return body;
}

/** Writes `parts` from the start of `path`, over what an earlier body left (its pages stay allocated). */
async function writeBody(path: string, parts: readonly Buffer[]): Promise<void> {
  const file = await open(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  try {
    let offset = 0;
    for (const part of parts) {
      let done = 0;
      while (done < part.byteLength) {
        const { bytesWritten } = await file.write(part, done, part.byteLength - done, offset);
        done += bytesWritten;
        offset += bytesWritten;
      }
    }
  } finally {
    await file.close();
  }
}

export class StubExitedError extends Error {
  constructor(readonly reason: ExitReason) {
    super(`the Python stub process ${reason}`);
  }
}
