/**
 * Memory sizes as people write them (`4GiB`, `512MiB`, `2G`, `1.5 GiB`, `1048576`) and as logs and
 * placement reasons show them (`6 GiB`, `1.5 GiB`, `300 MiB`).
 *
 * Binary suffixes (KiB/MiB/GiB/TiB, or Ki/Mi/Gi/Ti) are powers of 1024; decimal ones (K/M/G/T,
 * or KB/MB/GB/TB) are powers of 1000, as in Kubernetes resource quantities. Case does not matter.
 */
import { invalidArgument } from '../core/index.js';

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/** Bytes in a size string; INVALID_ARGUMENT for anything else. */
export function parseMemorySize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw invalidArgument(`'${text}' is not a memory size (examples: 4GiB, 512MiB, 2G, 1048576)`);
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw invalidArgument(`memory size '${text}' is too large`);
  return bytes;
}

const SHOWN: readonly [string, number][] = [
  ['TiB', 2 ** 40],
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
];

/** A short human-readable size in binary units with at most one decimal (`6 GiB`, `1.5 MiB`, `512 B`). */
export function formatBytes(bytes: number): string {
  const sign = bytes < 0 ? '-' : '';
  const magnitude = Math.abs(bytes);
  for (const [unit, size] of SHOWN) {
    if (magnitude >= size) {
      const value = Math.round((magnitude / size) * 10) / 10;
      return `${sign}${Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1)} ${unit}`;
    }
  }
  return `${sign}${magnitude} B`;
}
