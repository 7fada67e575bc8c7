import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelConfig } from '../repository/model-config.js';
import { refuseSequenceParameters, sequenceParametersSet } from './sequence-parameters.js';

const PLAIN = { name: 'm' } as ModelConfig;
const SEQUENCE = { name: 's', sequence_batching: { max_sequence_idle_microseconds: 1000 } } as unknown as ModelConfig;

describe('sequence parameters', () => {
  it('treats 0, "" and false flags as no sequence, as Triton clients send them', () => {
    assert.deepEqual(sequenceParametersSet(undefined), []);
    assert.deepEqual(sequenceParametersSet({ sequence_id: 0, sequence_start: false, sequence_end: false }), []);
    assert.deepEqual(sequenceParametersSet({ sequence_id: '', priority: 1 }), []);
    assert.deepEqual(sequenceParametersSet({ sequence_id: 0n }), []);
  });

  it('names every parameter that asks for a sequence', () => {
    assert.deepEqual(sequenceParametersSet({ sequence_id: 5n, sequence_start: true, sequence_end: true }), ['sequence_id', 'sequence_start', 'sequence_end']);
    assert.deepEqual(sequenceParametersSet({ sequence_id: 'corr-1' }), ['sequence_id']);
    assert.deepEqual(sequenceParametersSet({ sequence_end: true }), ['sequence_end']);
  });

  it('refuses them only for models without sequence_batching', () => {
    assert.throws(() => refuseSequenceParameters({ sequence_id: 3 }, PLAIN), { code: 'INVALID_ARGUMENT', message: /model 'm' must not specify sequence_id/ });
    assert.doesNotThrow(() => refuseSequenceParameters({ sequence_id: 3, sequence_start: true }, SEQUENCE));
    assert.doesNotThrow(() => refuseSequenceParameters({ timeout: 5 }, PLAIN));
  });
});
