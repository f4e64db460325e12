import { describe, expect, it } from '@jest/globals';
import {
  EXPRESS_MAX_SECONDS,
  placeholderResources,
  priceOf,
  PRICES,
  renderSaga,
  sagaPaths,
  walk,
  worstCaseSeconds,
  type SagaPath,
} from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { actions, firstStep, lastStep, rollbackPath, sagaOfSize, steps } from '../helpers/sagas.ts';

describe('sagaPaths', () => {
  it.each([1, 3, 7])('for %i steps: N transitions on success, 2k+1 for a rollback from step k', (size) => {
    const saga = sagaOfSize(size);
    const paths = sagaPaths(saga, renderSaga(saga, placeholderResources(saga)));
    expect(paths[0]).toMatchObject({ retries: 0, stretches: [{ attempts: size, waitSeconds: 0 }] });
    expect(paths[0]?.states).toHaveLength(size);
    saga.steps.forEach((_, index) => expect(paths[index + 1]?.states).toHaveLength(2 * (index + 1) + 1));
    // A business error is not retried: a rollback costs no retries.
    saga.steps.forEach((_, index) => expect(paths[index + 1]?.retries).toBe(0));
  });

  it('for the trip: invalid input costs 2 transitions; a stuck last compensation N+3 states and 5 retries twice', () => {
    const paths = sagaPaths(tripSaga, renderSaga(tripSaga, placeholderResources(tripSaga)));
    expect(paths.find((path) => path.scenario === 'invalid trip')).toMatchObject({
      states: [firstStep.action, 'TripRejected'],
      retries: 0,
    });
    const stuck = paths.at(-1);
    expect(stuck?.states).toEqual([...actions, lastStep.compensation, `Alert${lastStep.compensation}`, `Retry${lastStep.compensation}`]);
    expect(stuck?.retries).toBe(10);
    // 2, 4, 8, 16 and 32 s, none over the 60 s cap, halved by full jitter on average: before the alert and after.
    expect(stuck?.stretches).toEqual([{ attempts: actions.length + 3 + 10, waitSeconds: 62 }]);
    expect(priceOf(stuck as SagaPath, 100).transitions).toBe(actions.length + 3 + 10);
  });
});

describe('walk', () => {
  it('refuses a path that loops', () => {
    const looping = {
      StartAt: 'A',
      States: { A: { Type: 'Task' as const, Resource: 'arn:aws:lambda:us-east-1:123456789012:function:A', Next: 'A' } },
    };
    expect(() => walk(looping, [])).toThrow('the path from StartAt loops at "A"');
  });

  it('uses up the matching retrier of a faulty state before its catcher, and no other retrier', () => {
    const definition = renderSaga(tripSaga, placeholderResources(tripSaga));
    // The rollback from the last step, one after the other, with its action entered 3 more times.
    expect(walk(definition, [{ state: lastStep.action, error: 'TransientError' }])).toMatchObject({
      retries: 3,
      stretches: [{ attempts: rollbackPath(steps.length).length + 3, waitSeconds: (1 + 2 + 4) / 2 }],
    });
    expect(walk(definition, [{ state: lastStep.action, error: 'BookingConflict' }]).retries).toBe(0);
  });
});

describe('priceOf', () => {
  it('prices Standard per transition and Express per request plus billed duration', () => {
    const price = priceOf(
      { scenario: 'three states', states: ['A', 'B', 'C'], retries: 0, stretches: [{ attempts: 3, waitSeconds: 0 }] },
      40,
    );
    expect(price.transitions).toBe(3);
    expect(price.standardPerMillion).toBeCloseTo(75, 6);
    // 3 × 40 ms = 120 ms, billed as 200 ms at 64 MB.
    expect(price.expressPerMillion).toBeCloseTo(1 + 0.2 * PRICES.expressMemoryGb * PRICES.expressPerGbSecond * 1e6, 6);
  });

  it('counts retries as transitions, and their pauses as Express duration', () => {
    const price = priceOf({ scenario: 'retried', states: ['A', 'B'], retries: 2, stretches: [{ attempts: 4, waitSeconds: 1.5 }] }, 100);
    expect(price.transitions).toBe(4);
    expect(price.standardPerMillion).toBeCloseTo(100, 6);
    // 4 attempts × 100 ms + 1.5 s of pauses = 1.9 s.
    expect(price.expressPerMillion).toBeCloseTo(1 + 1.9 * PRICES.expressMemoryGb * PRICES.expressPerGbSecond * 1e6, 6);
  });
});

describe('worstCaseSeconds', () => {
  it('adds up every retry of every action and compensation, at its longest, and the alert’s and hand-off’s pauses', () => {
    // Per step: an action's 4 attempts and 1+2+4 s of pauses; a compensation's 6 attempts and 2+4+8+16+32 s.
    // Then the alert's and the hand-off's pauses: 1+2+4 s each.
    const perStep = 4 * 10 + 7 + (6 * 10 + 62);
    expect(worstCaseSeconds(tripSaga, 10)).toBe(tripSaga.steps.length * perStep + 14);
    expect(worstCaseSeconds(tripSaga, 10)).toBeGreaterThan(EXPRESS_MAX_SECONDS);
  });

  it('caps an attempt at its Task’s timeout', () => {
    const saga = { ...tripSaga, steps: tripSaga.steps.map((step) => ({ ...step, timeoutSeconds: 1 })) };
    expect(worstCaseSeconds(saga, 10)).toBe(worstCaseSeconds(tripSaga, 1));
  });
});
