import { describe, expect, it } from '@jest/globals';
import { placeholderResources, priceOf, PRICES, renderSaga, sagaPaths, walk } from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { sagaOfSize } from '../helpers/sagas.ts';

describe('sagaPaths', () => {
  it.each([1, 3, 7])('for %i steps: N transitions on success, 2k+1 for a rollback from step k', (size) => {
    const saga = sagaOfSize(size);
    const paths = sagaPaths(saga, renderSaga(saga, placeholderResources(saga)));
    expect(paths[0]?.states).toHaveLength(size);
    saga.steps.forEach((_, index) => expect(paths[index + 1]?.states).toHaveLength(2 * (index + 1) + 1));
  });

  it('for the trip: invalid input costs 2 transitions, a stuck last compensation 6', () => {
    const paths = sagaPaths(tripSaga, renderSaga(tripSaga, placeholderResources(tripSaga)));
    expect(paths.find((path) => path.scenario === 'invalid trip')?.states).toEqual(['BookHotel', 'TripRejected']);
    expect(paths.at(-1)?.states).toEqual(['BookHotel', 'BookFlight', 'BookRental', 'CancelRental', 'AlertCancelRental', 'SagaCompensationIncomplete']);
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
});

describe('priceOf', () => {
  it('prices Standard per transition and Express per request plus billed duration', () => {
    const price = priceOf({ scenario: 'three states', states: ['A', 'B', 'C'] }, 40);
    expect(price.transitions).toBe(3);
    expect(price.standardPerMillion).toBeCloseTo(75, 6);
    // 3 × 40 ms = 120 ms, billed as 200 ms at 64 MB.
    expect(price.expressPerMillion).toBeCloseTo(1 + 0.2 * PRICES.expressMemoryGb * PRICES.expressPerGbSecond * 1e6, 6);
  });
});
