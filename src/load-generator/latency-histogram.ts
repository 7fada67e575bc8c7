/**
 * A latency histogram in the spirit of HdrHistogram: log-spaced buckets 1 % wide from 1 µs to
 * ~1000 s, so memory is fixed (~17 KB) however many samples arrive, and any percentile is within
 * 1 % of the true value. Count, sum, min and max are kept exactly.
 */

/** Ratio between consecutive bucket bounds: every bucket is 1 % wide. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(1e9) / LOG_GROWTH) + 2;

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly minMs: number;
  readonly maxMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sumUs = 0;
  private minUs = Number.POSITIVE_INFINITY;
  private maxUs = 0;

  get count(): number {
    return this.total;
  }

  /** Records one latency in microseconds (values below 1 µs count as 1 µs). */
  record(us: number): void {
    const value = us < 1 ? 1 : us;
    const index = Math.min(BUCKETS - 1, Math.floor(Math.log(value) / LOG_GROWTH));
    this.counts[index]!++;
    this.total++;
    this.sumUs += value;
    if (value < this.minUs) this.minUs = value;
    if (value > this.maxUs) this.maxUs = value;
  }

  /** Adds every sample of `other`. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.sumUs += other.sumUs;
    this.minUs = Math.min(this.minUs, other.minUs);
    this.maxUs = Math.max(this.maxUs, other.maxUs);
  }

  /** The latency below which `fraction` (0..1) of the samples fall, in microseconds; 0 when empty. */
  percentileUs(fraction: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      // The bucket's geometric middle, clamped to what was actually seen.
      if (seen >= rank) return Math.min(this.maxUs, Math.max(this.minUs, GROWTH ** (i + 0.5)));
    }
    return this.maxUs;
  }

  summary(): LatencySummary {
    const ms = (us: number): number => us / 1000;
    return {
      count: this.total,
      meanMs: this.total ? ms(this.sumUs / this.total) : 0,
      minMs: this.total ? ms(this.minUs) : 0,
      maxMs: ms(this.maxUs),
      p50Ms: ms(this.percentileUs(0.5)),
      p90Ms: ms(this.percentileUs(0.9)),
      p95Ms: ms(this.percentileUs(0.95)),
      p99Ms: ms(this.percentileUs(0.99)),
    };
  }
}
