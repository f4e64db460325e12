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
  alertStateOf,
  groupCompensationOf,
  isGroup,
  retryStateOf,
  type SagaPath,
  type SagaStep,
  type Stage,
} from '../../asl/index.ts';
import { tripSaga } from '../../saga.ts';
import { actionStatesOf, branchStatesOf, expectSamePath, lastStep, rollbackPathOf, sagaOfSize } from '../helpers/sagas.ts';

/**
 * The states of a path that take time one after the other through a step: outside groups, and in the step's own
 * branches (a Parallel state takes its branches' time, none of its own).
 */
const throughBranchOf = (step: SagaStep, path: readonly string[]): string[] => {
  const own = new Set([step.action, step.compensation, alertStateOf(step), retryStateOf(step)]);
  const inBranch = branchStatesOf();
  const groups = new Set(tripSaga.steps.filter(isGroup).flatMap((group) => [group.name, groupCompensationOf(group)]));
  return path.filter((state) => !groups.has(state) && (!inBranch.has(state) || own.has(state)));
};

const none = { all: 0, error: 0 };

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
    const invalid = paths.find((path) => path.scenario === 'invalid trip');
    expectSamePath(invalid?.states ?? [], [...actionStatesOf(tripSaga.steps[0] as Stage), 'TripRejected']);
    expect(invalid?.retries).toBe(0);
    const stuck = paths.at(-1);
    // Stuck at the last compensation: its retry fails, whatever else of its group ran.
    const path = rollbackPathOf(lastStep, tripSaga, { stuck: lastStep });
    expectSamePath(stuck?.states ?? [], path);
    expect(stuck?.retries).toBe(10);
    // 2, 4, 8, 16 and 32 s, none over the 60 s cap, halved by full jitter on average: before the alert and after.
    expect(stuck?.stretches).toContainEqual({ attempts: throughBranchOf(lastStep, path).length + 10, waitSeconds: 62 });
    expect(priceOf(stuck as SagaPath, 100).transitions).toBe(path.length + 10);
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
    const walked = walk(definition, [{ state: lastStep.action, error: 'TransientError' }]);
    expect(walked.retries).toBe(3);
    expectSamePath(walked.states, rollbackPathOf(lastStep));
    expect(walked.stretches).toContainEqual({
      attempts: throughBranchOf(lastStep, rollbackPathOf(lastStep)).length + 3,
      waitSeconds: (1 + 2 + 4) / 2,
    });
    expect(walk(definition, [{ state: lastStep.action, error: 'BookingConflict' }]).retries).toBe(0);
  });
});

describe('the log events of a path', () => {
  it.each([1, 3])('for %i steps: every event on success, none at ERROR; a rollback logs each failure at ERROR', (size) => {
    const saga = sagaOfSize(size);
    const [success, rollbackFromFirst] = sagaPaths(saga, renderSaga(saga, placeholderResources(saga)));
    // The execution's start and end; each Task entered, scheduled, started, succeeded, exited.
    expect(success?.logEvents).toEqual({ all: 2 + 5 * size, error: 0 });
    // The first action fails and is caught, its compensation runs, the Fail state ends the execution failed.
    expect(rollbackFromFirst?.logEvents).toEqual({ all: 2 + 5 + 5 + 1, error: 3 });
  });

  it('costs each event its bytes at the ingestion price: Standard at ERROR, Express at ALL', () => {
    const price = priceOf(
      { scenario: 'logged', states: ['A'], retries: 0, stretches: [{ attempts: 1, waitSeconds: 0 }], logEvents: { all: 7, error: 2 } },
      100,
    );
    const perEvent = (PRICES.logEventBytes / 1e9) * PRICES.logIngestionPerGb * 1e6;
    expect(price.standardLogsPerMillion).toBeCloseTo(2 * perEvent, 9);
    expect(price.expressLogsPerMillion).toBeCloseTo(7 * perEvent, 9);
  });
});

describe('priceOf', () => {
  it('prices Standard per transition and Express per request plus billed duration', () => {
    const price = priceOf(
      { scenario: 'three states', states: ['A', 'B', 'C'], retries: 0, stretches: [{ attempts: 3, waitSeconds: 0 }], logEvents: none },
      40,
    );
    expect(price.transitions).toBe(3);
    expect(price.standardPerMillion).toBeCloseTo(75, 6);
    // 3 × 40 ms = 120 ms, billed as 200 ms at 64 MB.
    expect(price.expressPerMillion).toBeCloseTo(1 + 0.2 * PRICES.expressMemoryGb * PRICES.expressPerGbSecond * 1e6, 6);
  });

  it('counts retries as transitions, and their pauses as Express duration', () => {
    const price = priceOf(
      { scenario: 'retried', states: ['A', 'B'], retries: 2, stretches: [{ attempts: 4, waitSeconds: 1.5 }], logEvents: none },
      100,
    );
    expect(price.transitions).toBe(4);
    expect(price.standardPerMillion).toBeCloseTo(100, 6);
    // 4 attempts × 100 ms + 1.5 s of pauses = 1.9 s.
    expect(price.expressPerMillion).toBeCloseTo(1 + 1.9 * PRICES.expressMemoryGb * PRICES.expressPerGbSecond * 1e6, 6);
  });
});

describe('worstCaseSeconds', () => {
  // Per step: an action's 4 attempts and 1+2+4 s of pauses; a compensation's 6 attempts and 2+4+8+16+32 s.
  // Then the alert's and the hand-off's pauses: 1+2+4 s each.
  const perStep = 4 * 10 + 7 + (6 * 10 + 62);
  const once = 14;

  it('adds up every retry of every action and compensation, at its longest, and the alert’s and hand-off’s pauses', () => {
    expect(worstCaseSeconds(tripSaga, 10)).toBe(tripSaga.steps.length * perStep + once);
  });

  it('outruns Express’s five minutes from the first step list whose sum does, not one step earlier', () => {
    const size = Math.floor((EXPRESS_MAX_SECONDS - once) / perStep) + 1;
    expect(worstCaseSeconds(sagaOfSize(size), 10)).toBe(size * perStep + once);
    expect(worstCaseSeconds(sagaOfSize(size), 10)).toBeGreaterThan(EXPRESS_MAX_SECONDS);
    expect(worstCaseSeconds(sagaOfSize(size - 1), 10)).toBeLessThanOrEqual(EXPRESS_MAX_SECONDS);
  });

  it('caps an attempt at its Task’s timeout', () => {
    const saga = {
      ...tripSaga,
      steps: tripSaga.steps.map((stage) =>
        isGroup(stage)
          ? { ...stage, parallel: stage.parallel.map((step) => ({ ...step, timeoutSeconds: 1 })) }
          : { ...stage, timeoutSeconds: 1 },
      ),
    };
    expect(worstCaseSeconds(saga, 10)).toBe(worstCaseSeconds(tripSaga, 1));
  });
});
