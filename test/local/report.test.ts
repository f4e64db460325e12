import { expect, it } from '@jest/globals';
import { alertForPrinting, verdict } from '../../local/report.ts';
import type { Execution } from '../../local/runtime.ts';
import { tripSaga } from '../../saga.ts';

// What the command line prints of an execution carries no stack trace: `--json` keeps the whole cause.

const cause = JSON.stringify({
  errorType: 'InjectedFault',
  errorMessage: 'AlertCancelHotel failed on purpose',
  trace: ['InjectedFault: AlertCancelHotel failed on purpose', '    at injectedError (faults.ts:33:26)'],
});

it('an execution that failed otherwise is its error and message, without the trace its cause carries', () => {
  const failed = { outcome: 'failed', error: 'InjectedFault', cause, history: [], alerts: [], path: [] } as unknown as Execution;
  expect(verdict(tripSaga, failed, {})).toBe('✗ failed: InjectedFault: AlertCancelHotel failed on purpose');
});

it('an alert is printed with each error’s message in place of its cause', () => {
  const printed = alertForPrinting({ saga: tripSaga.name, errors: { CancelHotel: { Error: 'InjectedFault', Cause: cause } } });
  expect(printed).toEqual({
    saga: tripSaga.name,
    errors: { CancelHotel: { Error: 'InjectedFault', Cause: 'AlertCancelHotel failed on purpose' } },
  });
  expect(JSON.stringify(printed)).not.toContain('trace');
});
