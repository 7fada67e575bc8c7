/**
 * Histogram bucket boundaries shared by every Cranberries metric, so dashboards can compare
 * histograms of different components bucket by bucket.
 */

/** Seconds, from 100 µs to 60 s in 1-2.5-5 steps per decade: fine where inference lives (0.1–100 ms). */
export const DURATION_BUCKETS_SECONDS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Rows per model execution: powers of two up to 1024 (batches rarely exceed max_batch_size 1024). */
export const BATCH_SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
