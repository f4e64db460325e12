import { describe, expect, it } from '@jest/globals';
import { compensationRetryOf } from '../../asl/saga.ts';
import { DEFAULT_SETTINGS, sagaWithSettings, settingsFrom, StackSettingsError } from '../../infra/settings.ts';
import { tripSaga } from '../../saga.ts';

describe('stack settings', () => {
  const withEight = { ...tripSaga, compensationRetry: { maxAttempts: 8 } };

  it('leave the step list’s compensation attempts alone unless the stack sets them', () => {
    expect(compensationRetryOf(sagaWithSettings(withEight, DEFAULT_SETTINGS)).maxAttempts).toBe(8);
    const settings = settingsFrom((key) => (key === 'compensationMaxAttempts' ? '2' : undefined), 'prod');
    expect(compensationRetryOf(sagaWithSettings(withEight, settings)).maxAttempts).toBe(2);
  });

  it('name every bad key at once', () => {
    const bad: Record<string, string> = { compensationMaxAttempts: 'many', alertEmail: 'nobody', pointInTimeRecovery: 'yes' };
    expect(() => settingsFrom((key) => bad[key], 'prod')).toThrow(StackSettingsError);
    expect(() => settingsFrom((key) => bad[key], 'prod')).toThrow(
      /compensationMaxAttempts must be an integer from 0 to 20, got "many".*pointInTimeRecovery must be true or false, got "yes"/,
    );
  });
});
