/**
 * A one-line progress bar for terminals: redrawn in place with `\r`, throttled, and erased before
 * results are printed. Callers create it only when the stream is a TTY.
 */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly width = 30,
  ) {}

  update(label: string, fraction: number): void {
    const now = Date.now();
    if (now - this.lastDraw < 100 && fraction < 1) return;
    this.lastDraw = now;
    const clamped = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(clamped * this.width);
    const bar = '█'.repeat(filled) + '░'.repeat(this.width - filled);
    const line = `${bar} ${String(Math.round(clamped * 100)).padStart(3)}%  ${label}`;
    this.stream.write(`\r${line.slice(0, Math.max(10, (this.stream.columns || 80) - 1))}\u001b[K`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\u001b[K');
    this.drawn = false;
  }
}
