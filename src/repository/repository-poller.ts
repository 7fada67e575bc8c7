/**
 * Poll mode: rescans the repository every `intervalMs` and reports each model whose folder changed
 * (new or removed versions, a changed config.pbtxt or model file) or disappeared. Scans never
 * overlap; a scan that fails is retried at the next tick.
 */
import type { AspiredModel } from './aspired-model.js';
import type { ModelRepository } from './model-repository.js';

export type AspiredListener = (model: string, aspired: AspiredModel | undefined) => void;

export class RepositoryPoller {
  private readonly known = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private rescan = false;

  /**
   * @param selected which of the repository's models to serve (default: all); a model leaving the
   *   selection is reported as removed.
   */
  constructor(
    private readonly repository: ModelRepository,
    private readonly intervalMs: number,
    private readonly onChange: AspiredListener,
    private readonly selected: (names: string[]) => string[] = (names) => names,
  ) {}

  /** Scans once now (reporting every model), then keeps polling. */
  async start(): Promise<void> {
    await this.scan();
    this.timer = setInterval(() => void this.scan(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.scanning;
  }

  /** One scan; a call during a scan runs one more scan after it, so no change is missed. */
  scan(): Promise<void> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      do {
        this.rescan = false;
        await this.scanOnce();
      } while (this.rescan);
    })().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const listed = await this.repository.list().catch(() => undefined);
    if (!listed) return; // the root is momentarily unreadable: keep serving what we have
    const names = this.selected(listed);
    for (const name of [...this.known.keys()]) {
      if (!names.includes(name)) {
        this.known.delete(name);
        this.onChange(name, undefined);
      }
    }
    await Promise.all(
      names.map(async (name) => {
        const aspired = await this.repository.read(name);
        const fingerprint = JSON.stringify(aspired.ok ? { c: aspired.configStamp, v: aspired.versions } : aspired);
        if (this.known.get(name) === fingerprint) return;
        this.known.set(name, fingerprint);
        this.onChange(name, aspired);
      }),
    );
  }
}
