import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from '@jest/globals';
import { SagaDefinitionError } from '../../asl/validate.ts';
import { handlerModulesOf } from '../../functions/handler-modules.ts';
import { LocalSaga } from '../../local/runtime.ts';
import { stepsOf, type Saga, type SagaStep } from '../../asl/saga.ts';
import { NOTE } from '../helpers/noted-booking.ts';
import { firstStep, tripSagaOfTwoStagesOrMore, withStepChanged } from '../helpers/sagas.ts';
import { scratchFile } from '../helpers/scratch.ts';
import { exampleTrip } from '../helpers/trips.ts';

// A step's own modules (`actionModule`, `compensationModule`): used when they exist, refused with the step list
// when they do not, before anything runs.

// The trip (a step added to a trip of one, so that another step keeps the built-in handlers), and its last step.
const trip = tripSagaOfTwoStagesOrMore;
const steps = stepsOf(trip);
const lastStep = steps.at(-1) as SagaStep;

/** The trip saga with the last step's modules replaced. */
const withModules = (modules: { actionModule?: string; compensationModule?: string }): Saga => withStepChanged(lastStep, modules, trip);

it('a step’s actionModule serves its action, in the local mode as in the bundles', async () => {
  const saga = withModules({ actionModule: '../test/helpers/noted-booking.ts' });
  expect(handlerModulesOf(saga).find(({ state }) => state === lastStep.action)?.module).toBe('./../test/helpers/noted-booking.ts');
  const local = await LocalSaga.start({ saga });
  try {
    const execution = await local.execute(exampleTrip);
    expect(execution.status).toBe('SUCCEEDED');
    const results = (execution.output as { results: Record<string, { note?: string }> }).results;
    expect(results[lastStep.action]?.note).toBe(NOTE);
    expect(results[firstStep.action]?.note).toBeUndefined();
  } finally {
    await local.close();
  }
});

it.each([
  ['actionModule', { actionModule: 'no-such-action.ts' }],
  ['compensationModule', { compensationModule: 'no-such-cancel.ts' }],
])('a %s that does not exist is a SagaDefinitionError naming it, before anything starts', async (key, modules) => {
  const saga = withModules(modules);
  expect(() => handlerModulesOf(saga)).toThrow(SagaDefinitionError);
  expect(() => handlerModulesOf(saga)).toThrow(
    `step ${steps.indexOf(lastStep) + 1} (${lastStep.name}): ${key} "${Object.values(modules)[0]}" is not a file`,
  );
  await expect(LocalSaga.start({ saga })).rejects.toThrow(SagaDefinitionError);
});

it('a module path that climbs out of the project is refused, though the file exists: a saga file runs its own code', async () => {
  const outside = await scratchFile('export const createHandler = () => async () => ({});', 'outside.ts');
  const actionModule = relative(fileURLToPath(new URL('../../functions/', import.meta.url)), outside);
  expect(actionModule.startsWith('../../')).toBe(true);
  expect(() => handlerModulesOf(withModules({ actionModule }))).toThrow(`actionModule "${actionModule}" is not a file in functions/`);
});
