import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CranberriesError } from '../../core/errors.js';
import { Cancellation } from './cancellation.js';

describe('Cancellation', () => {
  it('tells its listeners once, with the reason as a CranberriesError', () => {
    const cancel = new Cancellation();
    const heard: string[] = [];
    cancel.onAbort(() => heard.push('a'));
    const unsubscribe = cancel.onAbort(() => heard.push('b'));
    unsubscribe();
    assert.equal(cancel.aborted, false);
    cancel.abort(new CranberriesError('CANCELLED', 'gone'));
    cancel.abort(new Error('again'));
    assert.deepEqual(heard, ['a']);
    assert.equal(cancel.reason?.code, 'CANCELLED');
    assert.equal(cancel.reason?.message, 'gone');
    cancel.onAbort(() => heard.push('late'));
    assert.deepEqual(heard, ['a', 'late'], 'a listener added after the fact runs at once');
  });

  it('follows an AbortSignal', () => {
    assert.equal(Cancellation.fromSignal(undefined), undefined);
    const controller = new AbortController();
    const cancel = Cancellation.fromSignal(controller.signal);
    assert.equal(cancel?.aborted, false);
    controller.abort(new CranberriesError('DEADLINE_EXCEEDED', 'late'));
    assert.equal(cancel?.reason?.code, 'DEADLINE_EXCEEDED');
    assert.equal(Cancellation.fromSignal(AbortSignal.abort(new Error('x')))?.reason?.code, 'INTERNAL');
  });
});
