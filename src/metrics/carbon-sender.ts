/**
 * A carbon plaintext-protocol client (`<path> <value> <timestamp>\n` over TCP) that never makes
 * its caller wait: `enqueue` appends to a bounded in-memory buffer and returns; the socket drains
 * the buffer in the background. While carbon is unreachable the sender reconnects with jittered
 * exponential backoff and keeps buffering; when the buffer is full the OLDEST lines are dropped
 * (the newest figures are worth most, and counters are cumulative) and counted in `dropped`.
 *
 * The plaintext protocol has no acknowledgements: lines handed to the kernel just before carbon
 * went away may never have been read. So the lines written during the last `replayWindowMs` are
 * remembered, and when the connection closes without us asking, they go back to the front of the
 * buffer and are sent again after reconnecting. A line carbon did read is then written twice,
 * which is harmless: a point is keyed by path and timestamp, the second write stores the same value.
 */
import { Socket } from 'node:net';
import type { Logger } from 'pino';

export interface CarbonSenderOptions {
  readonly host: string;
  readonly port: number;
  /** Lines kept while carbon is unreachable; beyond it the oldest are dropped. */
  readonly maxBufferedLines: number;
  readonly minBackoffMs?: number | undefined;
  readonly maxBackoffMs?: number | undefined;
  /** A connect that takes longer is abandoned and retried. */
  readonly connectTimeoutMs?: number | undefined;
  /** Lines written this recently are sent again after a connection loss (default 5000 ms). */
  readonly replayWindowMs?: number | undefined;
  readonly logger?: Logger | undefined;
}

/** Lines per socket write: large enough to be cheap, small enough not to hold much in flight. */
const LINES_PER_WRITE = 2000;

export class CarbonSender {
  /** Lines handed to the socket. */
  sent = 0;
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  private queue: string[] = [];
  private head = 0;
  /** Chunks written recently, oldest first, for replay after a connection loss. */
  private written: { readonly at: number; readonly lines: readonly string[] }[] = [];
  private socket: Socket | undefined;
  private connected = false;
  private writing = false;
  private closed = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: CarbonSenderOptions) {
    if (!Number.isInteger(options.maxBufferedLines) || options.maxBufferedLines < 1) {
      throw new RangeError(`maxBufferedLines must be a positive integer, got ${options.maxBufferedLines}`);
    }
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = Math.max(this.minBackoffMs, options.maxBackoffMs ?? 30_000);
    this.replayWindowMs = options.replayWindowMs ?? 5000;
  }

  private readonly replayWindowMs: number;

  get buffered(): number {
    return this.queue.length - this.head;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Opens the connection (in the background). */
  start(): void {
    this.connect();
  }

  /** Buffers lines (each ending in `\n`) and sends them as soon as possible. Never blocks. */
  enqueue(lines: readonly string[]): void {
    if (this.closed) return;
    for (const line of lines) this.queue.push(line);
    this.trim();
    this.flush();
  }

  /**
   * Gives whatever is still buffered up to `graceMs` to reach carbon (connecting if need be), then
   * stops for good: the socket is closed and nothing is buffered or sent any more.
   */
  async close(graceMs = 1000): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (!this.closed && (this.buffered > 0 || this.writing) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), Math.max(10, deadline - Date.now())).unref();
    });
  }

  private connect(): void {
    if (this.closed) return;
    const socket = new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setTimeout(this.options.connectTimeoutMs ?? 5000, () => socket.destroy(new Error('connect timed out')));
    socket.on('error', (error) => {
      // 'close' follows; one log line per failed attempt series is enough.
      if (this.attempt === 0 || this.connected) this.options.logger?.warn({ err: error.message, host: this.options.host, port: this.options.port }, 'graphite: connection failed; buffering points');
    });
    socket.on('close', () => {
      const wasConnected = this.connected;
      this.connected = false;
      this.writing = false;
      if (this.socket === socket) this.socket = undefined;
      this.requeueRecent();
      if (wasConnected) this.options.logger?.warn({ host: this.options.host, port: this.options.port }, 'graphite: connection closed; reconnecting');
      this.scheduleReconnect();
    });
    // Carbon never writes to us; reading keeps 'end' (a clean close by carbon) observable.
    socket.on('data', () => {});
    socket.connect(this.options.port, this.options.host, () => {
      socket.setTimeout(0);
      this.connected = true;
      if (this.attempt > 0) this.options.logger?.info({ host: this.options.host, port: this.options.port, buffered: this.buffered }, 'graphite: connected');
      this.attempt = 0;
      this.flush();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    const ceiling = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.reconnectTimer.unref();
  }

  /** Writes buffered lines until the buffer is empty or the socket asks us to wait ('drain'). */
  private flush(): void {
    const socket = this.socket;
    if (!socket || !this.connected || this.writing) return;
    while (this.buffered > 0) {
      const end = Math.min(this.queue.length, this.head + LINES_PER_WRITE);
      const lines = this.queue.slice(this.head, end);
      this.sent += lines.length;
      this.head = end;
      this.compact();
      this.remember(lines);
      if (!socket.write(lines.join(''))) {
        this.writing = true;
        socket.once('drain', () => {
          this.writing = false;
          this.flush();
        });
        return;
      }
    }
  }

  private remember(lines: readonly string[]): void {
    const now = Date.now();
    this.written.push({ at: now, lines });
    while (this.written.length > 0 && this.written[0]!.at < now - this.replayWindowMs) this.written.shift();
  }

  /** Puts the recently written lines back in front of the buffer (they are older than what it holds). */
  private requeueRecent(): void {
    const cutoff = Date.now() - this.replayWindowMs;
    const recent = this.written.filter((chunk) => chunk.at >= cutoff).flatMap((chunk) => chunk.lines);
    this.written = [];
    if (this.closed || recent.length === 0) return;
    this.queue = [...recent, ...this.queue.slice(this.head)];
    this.head = 0;
    this.trim();
  }

  /** Drops the oldest lines beyond the bound, counting them. */
  private trim(): void {
    const excess = this.buffered - this.options.maxBufferedLines;
    if (excess > 0) {
      this.head += excess;
      this.dropped += excess;
    }
    this.compact();
  }

  /** Drops consumed entries once they are the bigger part of the array (amortised O(1)). */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
