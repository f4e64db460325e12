// Sagas of a given size or shape, and edits of a step list, as a user writes them: jest-free, so that benchmarks (plain
// scripts) and the saga files tests hand to the CLI share them with the tests.
import {
  defineSaga,
  isGroup,
  parallel,
  stepsOf,
  type BookingStep,
  type CompensatableStep,
  type Saga,
  type SagaStep,
  type Stage,
} from '../../asl/index.ts';
import { tripSaga, type TripField } from '../../saga.ts';

const FIELDS = ['id', 'what', 'from', 'to'] as const;

/** A step as a user would add it to the step list. */
export function stepNamed(name: string): BookingStep<(typeof FIELDS)[number]> {
  return { name, action: `Book${name}`, compensation: `Cancel${name}`, table: `${name}Bookings`, records: ['what', 'from', 'to'] };
}

const text = { type: 'string' } as const;

/** The step that tests add at the end of the trip's step list, as a user adds one (README: "Adding a step"). */
export const addedStep: BookingStep & CompensatableStep = {
  name: 'Added',
  action: 'BookAdded',
  compensation: 'CancelAdded',
  table: 'AddedBookings',
  records: ['trip_id'],
};

/** The trip saga with one more step at the end. */
export const tripSagaWithAddedStep: Saga = { ...tripSaga, steps: [...tripSaga.steps, addedStep] };

/**
 * The step a trip of a single stage is given second: named after that stage (so that no step of the trip has its
 * name), and not addedStep, so that tests can still add that one to it.
 */
function secondStepOf(saga: Saga): BookingStep & CompensatableStep {
  const name = `${saga.steps[0]?.name ?? ''}Next`;
  return { name, action: `Book${name}`, compensation: `Cancel${name}`, table: `${name}Bookings`, records: ['trip_id'] };
}

/**
 * The trip, with a step added when it has a single stage: for what needs a stage after the first (a step past a
 * pivot, a compensation owed before another, a step to remove or move), whatever the length of the trip's own step list.
 */
export const tripSagaOfTwoStagesOrMore: Saga =
  tripSaga.steps.length > 1 ? tripSaga : { ...tripSaga, steps: [...tripSaga.steps, secondStepOf(tripSaga)] };

/** A saga of `size` generic steps (Step1 … StepN), for shapes the trip does not cover. */
export function sagaOfSize(size: number): Saga {
  return defineSaga({
    name: `Saga${size}`,
    noun: 'Thing',
    keyField: 'id',
    input: Object.fromEntries(FIELDS.map((field) => [field, text])) as Record<(typeof FIELDS)[number], typeof text>,
    example: { id: 'example', what: 'a thing', from: 'here', to: 'there' },
    steps: Array.from({ length: size }, (_, index) => stepNamed(`Step${index + 1}`)),
  });
}

/** The text of a step list module (`--saga FILE`, a stack's `saga` setting) whose default export is sagaOfSize(size). */
export const sagaOfSizeModule = (size: number): string =>
  `import { sagaOfSize } from ${JSON.stringify(import.meta.url)};\nexport default sagaOfSize(${size});\n`;

/** A saga of `size` steps over the trip's input, which the real handlers (validating trips) can serve. */
export function tripSagaOfSize(size: number): Saga {
  return defineSaga({
    ...tripSaga,
    name: `Trip${size}`,
    steps: Array.from({ length: size }, (_, index) => ({
      name: `Step${index + 1}`,
      action: `BookStep${index + 1}`,
      compensation: `CancelStep${index + 1}`,
      table: `Step${index + 1}Bookings`,
      records: [(['hotel', 'depart', 'rental'] as const)[index % 3] as TripField],
    })),
  });
}

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

/** The saga with one of its steps changed, wherever it stands (alone, or in a group). */
export function withStepChanged(step: SagaStep, change: Partial<BookingStep>, saga: Saga = tripSaga): Saga {
  const changed = (other: SagaStep): SagaStep => (other === step ? ({ ...other, ...change } as SagaStep) : other);
  return {
    ...saga,
    steps: saga.steps.map((stage) => (isGroup(stage) ? { ...stage, parallel: stage.parallel.map(changed) } : changed(stage))),
  };
}

/**
 * The saga without one of its steps, wherever it stands, as a user removes it: a group left with a single step (a group
 * runs at least two) gives way to that step.
 */
export function withoutStep(step: SagaStep, saga: Saga = tripSaga): Saga {
  return {
    ...saga,
    steps: saga.steps.flatMap((stage): Stage[] => {
      if (!isGroup(stage)) return stage === step ? [] : [stage];
      const rest = stage.parallel.filter((other) => other !== step);
      return rest.length === 1 ? (rest as SagaStep[]) : [{ ...stage, parallel: rest }];
    }),
  };
}

/** The saga with its groups opened: every step one after another, in step-list order, whatever groups it has. */
export const chainOf = (saga: Saga = tripSaga): Saga => ({ ...saga, steps: stepsOf(saga) });
