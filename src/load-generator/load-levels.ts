/**
 * Load levels from the command line: `--concurrency 8`, a list `1,4,16`, or a sweep
 * `start:end:xF` (multiply by F) / `start:end:+S` (add S), end included, e.g. `1:64:x2` gives
 * 1, 2, 4, 8, 16, 32, 64.
 */
export function parseConcurrency(text: string): number[] {
  const fail = (why: string): never => {
    throw new Error(`--concurrency "${text}": ${why} (examples: 8, 1,4,16, 1:64:x2, 4:32:+4)`);
  };
  const positive = (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) fail(`"${value}" is not a positive integer`);
    return n;
  };
  const parts = text.split(':');
  if (parts.length === 1) return text.split(',').map((v) => positive(v.trim()));
  if (parts.length !== 3) fail('a sweep is start:end:step');
  const start = positive(parts[0]!);
  const end = positive(parts[1]!);
  if (end < start) fail('the end is below the start');
  const step = parts[2]!;
  const match = /^([x*+])(\d+(?:\.\d+)?)$/.exec(step);
  if (!match) fail(`step "${step}" must be xF (multiply) or +S (add)`);
  const amount = Number(match![2]);
  const multiply = match![1] !== '+';
  if (multiply ? amount <= 1 : amount < 1) fail(`step "${step}" would never reach the end`);
  const levels: number[] = [];
  for (let c = start; c <= end && levels.length < 1000; c = multiply ? Math.max(c + 1, Math.round(c * amount)) : c + amount) levels.push(c);
  return levels;
}
