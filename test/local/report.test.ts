import { expect, it } from '@jest/globals';
import { alertForPrinting, verdict } from '../../local/report.ts';
import type { Execution } from '../../local/runtime.ts';
import { alertStateOf, stepsOf } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import { firstStep } from '../helpers/sagas.ts';

// What the command line prints of an execution carries no stack trace: `--json` keeps the whole cause.

/** A state of the trip whose fault the cause reports. */
const alert = alertStateOf(firstStep);
const cause = JSON.stringify({
  errorType: 'InjectedFault',
  errorMessage: `${alert} failed on purpose`,
  trace: [`InjectedFault: ${alert} failed on purpose`, '    at injectedError (faults.ts:33:26)'],
});

it('an execution that failed otherwise is its error and message, without the trace its cause carries', () => {
  const failed = { outcome: 'failed', error: 'InjectedFault', cause, history: [], alerts: [], path: [] } as unknown as Execution;
  expect(verdict(tripSaga, failed, {})).toBe(`✗ failed: InjectedFault: ${alert} failed on purpose`);
});

it('an alert is printed with its error’s message in place of its cause', () => {
  const printed = alertForPrinting({ saga: tripSaga.name, error: { Error: 'InjectedFault', Cause: cause } });
  expect(printed).toEqual({ saga: tripSaga.name, error: { Error: 'InjectedFault', Cause: `${alert} failed on purpose` } });
  expect(JSON.stringify(printed)).not.toContain('trace');
});

it('a rolled-back execution says which bookings of the trip another execution still holds', () => {
  const [first, ...rest] = stepsOf(tripSaga);
  const rolledBack = {
    executionArn: 'arn:aws:states:us-east-1:000000000000:execution:TripBooking:second',
    outcome: 'rolled back',
    path: [first?.action],
    history: [],
  };
  const held = { status: 'BOOKED', execution: 'arn:aws:states:us-east-1:000000000000:execution:TripBooking:first' };
  const bookings = Object.fromEntries(stepsOf(tripSaga).map((step) => [step.name, held]));
  const line = verdict(tripSaga, rolledBack as unknown as Execution, bookings);
  expect(line).toContain('nothing of its own is left booked');
  expect(line).toContain(`${[first, ...rest].map((step) => step?.name).join(', ')} stay booked by another execution`);
});
