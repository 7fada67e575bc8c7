/**
 * Triton-mode trace output: Triton's JSON trace file. Each finished trace is a run of JSON objects
 * (`{"id","model_name","model_version"[,"request_id"]}` then one `{"id","timestamps":[{name,ns}]}`
 * per timestamp), collected per setting and written as Triton writes them:
 *
 * - `log_frequency` N > 0: every N traces go to `<file>.<index>` as one JSON array (index from 0);
 * - `log_frequency` 0: traces go to `<file>`, one JSON array closed at shutdown;
 * - when a setting's `trace_count` runs out, what it collected is written to `<file>.<index>` at once;
 * - when a setting is replaced (an update), what it collected is written out as above.
 *
 * Unlike Triton, `log_frequency` 0 does not hold every trace in memory until shutdown: after
 * `MAX_PENDING_TRACES` traces they are appended to `<file>` (the same file content, written earlier).
 * Writes are asynchronous and kept in order; a failed write is reported to `onError` and dropped.
 */
import { appendFile, writeFile } from 'node:fs/promises';
import type { TraceSetting } from './trace-settings.js';

export const MAX_PENDING_TRACES = 1000;

interface Collected {
  traces: string[];
  /** Traces sampled under the setting and not yet finished. */
  open: number;
  /** The setting was replaced: what finishes later is written at once. */
  retired: boolean;
}

class TraceFile {
  private index = 0;
  private started = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Writes `traces` to `<path>.<index>` as one JSON array. */
  writeIndexed(traces: readonly string[]): void {
    const path = `${this.path}.${this.index++}`;
    const text = `[${traces.join(',')}]`;
    this.enqueue(() => writeFile(path, text));
  }

  /** Appends `traces` to the array in `<path>` (created on the first write). */
  append(traces: readonly string[]): void {
    const text = (this.started ? ',' : '[') + traces.join(',');
    const first = !this.started;
    this.started = true;
    this.enqueue(() => (first ? writeFile(this.path, text) : appendFile(this.path, text)));
  }

  /** Closes the array of `<path>` if one was started; resolves when every write has ended. */
  close(): Promise<void> {
    if (this.started) this.enqueue(() => appendFile(this.path, ']'));
    this.started = false;
    return this.chain;
  }

  private enqueue(write: () => Promise<void>): void {
    this.chain = this.chain.then(write).catch(this.onError);
  }
}

export class TraceFileWriter {
  private readonly files = new Map<string, TraceFile>();
  /** Settings with traces open or collected and not written yet. */
  private readonly collected = new Map<TraceSetting, Collected>();

  constructor(private readonly onError: (error: unknown) => void) {}

  /** A trace was sampled under `setting` (its output follows when it finishes). */
  opened(setting: TraceSetting): void {
    this.collectedOf(setting).open++;
  }

  /** A trace sampled under `setting` finished with `json` (its objects, comma-separated). */
  finished(setting: TraceSetting, json: string): void {
    const collected = this.collectedOf(setting);
    collected.open--;
    collected.traces.push(json);
    if (collected.retired) this.retire(setting);
    else if (setting.count === 0 && collected.open === 0) this.flush(setting, true);
    else if (setting.logFrequency !== 0 && collected.traces.length >= setting.logFrequency) this.flush(setting, true);
    else if (setting.logFrequency === 0 && collected.traces.length >= MAX_PENDING_TRACES) this.flush(setting, false);
  }

  /** Writes what `setting` collected (it is being replaced, or the server stops). */
  retire(setting: TraceSetting): void {
    const collected = this.collected.get(setting);
    if (!collected) return;
    collected.retired = true;
    this.flush(setting, setting.logFrequency !== 0);
    if (collected.open === 0) this.collected.delete(setting);
  }

  /** Writes what every setting collected and closes every file; resolves when everything is written. */
  async close(): Promise<void> {
    for (const setting of [...this.collected.keys()]) this.retire(setting);
    await Promise.all([...this.files.values()].map((file) => file.close()));
  }

  private flush(setting: TraceSetting, indexed: boolean): void {
    const collected = this.collected.get(setting);
    if (!collected || collected.traces.length === 0 || setting.file === '') return;
    const traces = collected.traces;
    collected.traces = [];
    const file = this.fileOf(setting.file);
    if (indexed) file.writeIndexed(traces);
    else file.append(traces);
  }

  private fileOf(path: string): TraceFile {
    let file = this.files.get(path);
    if (!file) this.files.set(path, (file = new TraceFile(path, this.onError)));
    return file;
  }

  private collectedOf(setting: TraceSetting): Collected {
    let collected = this.collected.get(setting);
    if (!collected) this.collected.set(setting, (collected = { traces: [], open: 0, retired: false }));
    return collected;
  }
}
