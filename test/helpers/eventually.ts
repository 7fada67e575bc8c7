/**
 * Polls until a condition holds, for tests against real processes and stores: `read` is retried
 * every 50 ms (a throw counts as "not yet") until it returns something other than undefined or
 * false, which is returned; after `timeoutMs` the test fails naming what it waited for and the
 * last error seen.
 */
import assert from 'node:assert/strict';

export async function eventually<T>(read: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await read();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`);
}
