import { describe, expect, it } from '@jest/globals';
import { configFromEnvironment, configToEnvironment, DEFAULT_CANCEL_MARKER_TTL_SECONDS, stepConfigsOf } from '../../functions/config.ts';
import { functionStatesOf } from '../../asl/saga.ts';
import { tripSaga } from '../../saga.ts';
import { lastStep } from '../helpers/sagas.ts';

describe('function configuration', () => {
  const configs = stepConfigsOf(tripSaga, { faultInjection: false });

  it('is derived from the step list for every action and compensation', () => {
    expect(Object.keys(configs)).toEqual(functionStatesOf(tripSaga));
    expect(configs[lastStep.compensation]).toEqual({
      state: lastStep.compensation,
      step: lastStep.name,
      table: lastStep.table,
      noun: tripSaga.noun,
      keyField: tripSaga.keyField,
      records: lastStep.records,
      cancelMarkerTtlSeconds: DEFAULT_CANCEL_MARKER_TTL_SECONDS,
      faultInjection: false,
    });
  });

  it('travels through the environment unchanged', () => {
    for (const config of Object.values(configs)) expect(configFromEnvironment(configToEnvironment(config))).toEqual(config);
  });

  it('names every variable that is missing or malformed', () => {
    expect(() =>
      configFromEnvironment({
        SAGA_STATE: lastStep.action,
        SAGA_RECORDS: 'hotel,bad-field',
        SAGA_CANCEL_MARKER_TTL_SECONDS: '5',
        SAGA_FAULT_INJECTION: 'yes',
      }),
    ).toThrow(
      'bad function configuration: SAGA_STEP is not set; SAGA_NOUN is not set; SAGA_KEY_FIELD is not set; ' +
        'SAGA_RECORDS/SAGA_KEY_FIELD: "bad-field" is not a field name; SAGA_CANCEL_MARKER_TTL_SECONDS must be an integer of at least 60, got "5"; ' +
        'SAGA_FAULT_INJECTION must be "enabled" or "disabled", got "yes"',
    );
  });
});
