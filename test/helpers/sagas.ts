import { defineSaga, parallel, stepsOf, type Saga, type SagaStep } from '../../asl/index.ts';
import { tripFields, type TripField } from '../../functions/trip.ts';
import { tripSaga } from '../../saga.ts';

const FIELDS = ['id', 'what', 'from', 'to'] as const;

/** A step as a user would add it to the step list. */
export function stepNamed(name: string): SagaStep<(typeof FIELDS)[number]> {
  return { name, action: `Book${name}`, compensation: `Cancel${name}`, table: `${name}Bookings`, records: ['what', 'from', 'to'] };
}

/** A saga of `size` generic steps (Step1 … StepN), for shapes the trip does not cover. */
export function sagaOfSize(size: number): Saga {
  return defineSaga({
    name: `Saga${size}`,
    keyField: 'id',
    fields: FIELDS,
    steps: Array.from({ length: size }, (_, index) => stepNamed(`Step${index + 1}`)),
  });
}

/** The step that tests add at the end of the trip's step list, as a user adds one (README: "Adding a step"). */
export const addedStep: SagaStep = {
  name: 'Added',
  action: 'BookAdded',
  compensation: 'CancelAdded',
  table: 'AddedBookings',
  records: ['trip_id'],
};

/** The trip saga with one more step at the end. */
export const tripSagaWithAddedStep: Saga = { ...tripSaga, steps: [...tripSaga.steps, addedStep] };

/** The trip's steps, by position: tests state the rules on these, so that they hold for any step list. */
export const steps: readonly SagaStep[] = stepsOf(tripSaga);
export const firstStep = steps[0] as SagaStep;
export const lastStep = steps.at(-1) as SagaStep;
/** The step before the last (the first, in a saga of one): its compensation is owed when the last action fails. */
export const previousStep = steps.at(-2) ?? firstStep;
export const actions = steps.map((step) => step.action);

/** The states a rollback from the `k`-th step enters: k actions, their compensations in reverse, SagaRolledBack. */
export const rollbackPath = (k: number): string[] => [
  ...actions.slice(0, k),
  ...steps
    .slice(0, k)
    .reverse()
    .map((step) => step.compensation),
  'SagaRolledBack',
];

/** A saga of `size` steps over the trip's fields, which the real handlers (validating trips) can serve. */
export function tripSagaOfSize(size: number): Saga {
  return defineSaga<TripField>({
    name: `Trip${size}`,
    keyField: 'trip_id',
    fields: tripFields,
    steps: Array.from({ length: size }, (_, index) => ({
      name: `Step${index + 1}`,
      action: `BookStep${index + 1}`,
      compensation: `CancelStep${index + 1}`,
      table: `Step${index + 1}Bookings`,
      records: [(['hotel', 'depart', 'rental'] as const)[index % 3] as TripField],
    })),
  });
}

/** The trip's example with a group (examples/trip-parallel.ts): what tests of groups run, taken from that file. */
export { default as tripParallelSaga } from '../../examples/trip-parallel.ts';

/**
 * A saga over the trip's fields whose step list mixes groups and single steps: `shape` gives each entry's size (1 a
 * single step, 2 or more a group), e.g. [2, 1] is a group of two, then a step.
 */
export function tripSagaOfShape(shape: readonly number[]): Saga {
  const single = tripSagaOfSize(shape.reduce((sum, size) => sum + size, 0));
  let next = 0;
  const take = (size: number) => single.steps.slice(next, (next += size)) as SagaStep[];
  return {
    ...single,
    name: `Trip${shape.join('x')}`,
    steps: shape.map((size, index) => (size === 1 ? (take(1)[0] as SagaStep) : parallel(`Group${index + 1}`, take(size)))),
  };
}
