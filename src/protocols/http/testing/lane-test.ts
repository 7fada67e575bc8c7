/**
 * OIP inference runs in two lanes that must answer alike (`infer-route.ts`): the direct lane on the
 * raw request and response, and the fastify lane. A lane test runs once in each.
 */
import { test } from 'node:test';

export function laneTest(name: string, fn: (direct: boolean) => Promise<void>): void {
  for (const direct of [false, true]) test(`${name} (${direct ? 'direct' : 'fastify'} lane)`, () => fn(direct));
}
